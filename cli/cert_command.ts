/**
 * `iotnet cert <dir> [--host NAME]...`: a CA and a server certificate for a deployment
 * (SPEC §7). With `ca.crt` and `ca.key` already in `<dir>`, it keeps that CA and issues a
 * new server certificate from it (rotation: devices keep their `--tls-ca`).
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { join } from "node:path";
import { createCa, issueServerCertificate, type PemPair } from "../tls/certificates.ts";
import { UsageError } from "./usage_error.ts";

/** Mode of the private keys `cert` and `keygen` write: the owner's alone. */
export const KEY_FILE_MODE = 0o600;
/** Hosts a server certificate names when no `--host` is given. */
export const DEFAULT_CERT_HOSTS = ["127.0.0.1", "localhost"] as const;

/** Builds the `cert` subcommand. */
export function certCommand() {
  return new Command("cert")
    .description("make a CA and a server certificate for a deployment (or renew the latter)")
    .argument("<dir>", "where ca.crt, ca.key, server.crt and server.key go (created if missing)")
    .option(
      "--host <name>",
      "an IP address or DNS name devices dial (repeat it; default 127.0.0.1 and localhost)",
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .action(async (dir, opts) => {
      const hosts = opts.host ?? [...DEFAULT_CERT_HOSTS];
      await Deno.mkdir(dir, { recursive: true }).catch((error) => {
        throw new UsageError(`<dir> ${dir} cannot be used: ${(error as Error).message}`, {
          cause: error,
        });
      });
      const paths = {
        caCert: join(dir, "ca.crt"),
        caKey: join(dir, "ca.key"),
        cert: join(dir, "server.crt"),
        key: join(dir, "server.key"),
      };
      const kept = await readCa(paths.caCert, paths.caKey);
      const ca = kept ?? await createCa();
      let server: PemPair;
      try {
        server = await issueServerCertificate(ca, hosts);
      } catch (error) {
        if (error instanceof RangeError) throw new UsageError(`--host: ${error.message}`);
        throw new UsageError(
          `cannot issue a certificate from the CA in ${paths.caCert}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      // Nothing is written before everything is made: a refusal leaves <dir> as it was.
      if (!kept) {
        await writeKeyFile(paths.caKey, ca.key);
        await Deno.writeTextFile(paths.caCert, ca.cert);
      }
      await writeKeyFile(paths.key, server.key);
      await Deno.writeTextFile(paths.cert, server.cert);
      console.log(
        `${kept ? "kept the CA" : "made a new CA"} in ${paths.caCert}; server certificate ` +
          `for ${hosts.join(", ")} in ${paths.cert} (key ${paths.key})`,
      );
      console.log(
        `server: --tls-cert ${paths.cert} --tls-key ${paths.key}; edges: --tls-ca ${paths.caCert}` +
          `; keep ${paths.caKey} off the server`,
      );
    });
}

/**
 * The CA in `<dir>`, when both its files are there.
 *
 * @throws {UsageError} when only one of them is, or they cannot be read.
 */
async function readCa(certPath: string, keyPath: string): Promise<PemPair | undefined> {
  const [cert, key] = await Promise.all([readIfPresent(certPath), readIfPresent(keyPath)]);
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    throw new UsageError(
      `${cert === undefined ? keyPath : certPath} is there without ${
        cert === undefined ? certPath : keyPath
      }; restore it, or remove both to make a new CA (every edge then needs the new ca.crt)`,
    );
  }
  return { cert, key };
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new UsageError(`${path} cannot be read: ${(error as Error).message}`, { cause: error });
  }
}

/** Writes a private key with mode 0600, replacing the file whole (temp file, rename). */
export async function writeKeyFile(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp-${crypto.randomUUID()}`;
  try {
    await Deno.writeTextFile(temp, text, { createNew: true, mode: KEY_FILE_MODE });
    await Deno.chmod(temp, KEY_FILE_MODE); // the umask may have taken bits away
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw new UsageError(`cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
}
