/**
 * `iotnet cert <dir>`: a deployment's CA and server certificate (SPEC §7). With a CA
 * already in `<dir>`, only a new server certificate is issued from it (rotation).
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { join } from "node:path";
import { createCa, issueServerCert } from "../tls/certificates.ts";
import { UsageError } from "./usage_error.ts";

/** Hosts a server certificate names when no `--host` is given. */
export const DEFAULT_CERT_HOSTS = ["127.0.0.1", "localhost"] as const;

/** Builds the `cert` subcommand. */
export function certCommand() {
  return new Command("cert")
    .description("make a CA and a server certificate for a deployment (or a new server cert)")
    .argument("<dir>", "where ca.crt, ca.key, server.crt and server.key are written")
    .option(
      "--host <name>",
      "a DNS name or IP address devices dial (repeatable; default 127.0.0.1 and localhost)",
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action(async (dir, opts) => {
      const hosts = opts.host ?? [...DEFAULT_CERT_HOSTS];
      await Deno.mkdir(dir, { recursive: true });
      const paths = {
        caCert: join(dir, "ca.crt"),
        caKey: join(dir, "ca.key"),
        cert: join(dir, "server.crt"),
        key: join(dir, "server.key"),
      };
      let ca = await readPair(paths.caCert, paths.caKey);
      if (ca === undefined) {
        ca = await createCa("iotnet CA");
        await writeKey(paths.caKey, ca.key);
        await Deno.writeTextFile(paths.caCert, ca.cert);
        console.log(`wrote a new CA: ${paths.caCert} (give it to devices as --tls-ca)`);
        console.log(`             and ${paths.caKey} (keep it offline; it signs server certs)`);
      } else {
        console.log(`using the CA in ${paths.caCert}`);
      }
      let server;
      try {
        server = await issueServerCert(ca, { hosts });
      } catch (error) {
        if (error instanceof RangeError) throw new UsageError(error.message);
        throw error;
      }
      await writeKey(paths.key, server.key);
      await Deno.writeTextFile(paths.cert, server.cert);
      console.log(`wrote ${paths.cert} and ${paths.key} for ${hosts.join(", ")}`);
      console.log(`start the server with --tls-cert ${paths.cert} --tls-key ${paths.key}`);
    });
}

async function readPair(certPath: string, keyPath: string) {
  try {
    return { cert: await Deno.readTextFile(certPath), key: await Deno.readTextFile(keyPath) };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Writes a private key readable by its owner alone (mode 0600), replacing any old one. */
export async function writeKey(path: string, pem: string): Promise<void> {
  await Deno.writeTextFile(path, pem, { mode: 0o600 });
  await Deno.chmod(path, 0o600);
}
