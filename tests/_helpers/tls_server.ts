/**
 * A TLS deployment for tests: a fresh CA with a server certificate, and an in-process
 * server speaking TLS on 127.0.0.1 (or another loopback address) in a temp data directory.
 *
 * @module
 */

import { join } from "node:path";
import { startServer, type TlsIdentity } from "../../server/mod.ts";
import { HASH_PROFILES } from "../../server/password_hash.ts";
import { createCa, issueServerCert } from "../../tls/certificates.ts";

/** A CA and a server certificate for `hosts` (valid one day from `notBefore` if given). */
export async function deployment(hosts = ["127.0.0.1", "localhost"], notBefore?: Date) {
  const ca = await createCa("iotnet test CA");
  const server = await issueServerCert(ca, {
    hosts,
    ...(notBefore && { notBefore, validDays: 1 }),
  });
  return { ca, server };
}

/**
 * A server with accounts `watch1`, `watch2` (password `pw`) and `dev0`..`dev<devices-1>`
 * (password `pw`), TLS when `tls` is given; its log lines are kept. Async-disposable.
 */
export async function tlsServer(
  tls: TlsIdentity | undefined,
  options: { hostname?: string; devices?: number } = {},
) {
  const dataDir = await Deno.makeTempDir({ prefix: "iotnet-tls-" });
  const devices = Array.from({ length: options.devices ?? 0 }, (_, i) => `dev${i} pw\n`);
  await Deno.writeTextFile(
    join(dataDir, "credentials.txt"),
    ["watch1 pw\n", "watch2 pw\n", ...devices].join(""),
  );
  const logged: string[] = [];
  const server = await startServer({
    attempts: 3,
    dataDir,
    // Many logins at once in a test: the cheap profile (the dummy check hashes too).
    hashParams: HASH_PROFILES.fast,
    log: (line) => logged.push(line),
    ...(options.hostname && { hostname: options.hostname }),
    ...(tls && { tls }),
  });
  return {
    server,
    logged,
    async [Symbol.asyncDispose]() {
      await server.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}
