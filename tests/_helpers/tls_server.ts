/**
 * A TLS deployment for tests: a fresh CA with a server certificate, an in-process server
 * speaking TLS on 127.0.0.1 (or another loopback address) in a temp data directory, and
 * `openssl s_client` to talk to it.
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
  options: { hostname?: string; devices?: number; loginDeadlineMs?: number } = {},
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
    ...(options.loginDeadlineMs && { loginDeadlineMs: options.loginDeadlineMs }),
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

/** `openssl <args>`, stdin closed, both outputs piped. */
export function openssl(args: string[]): Deno.Command {
  return new Deno.Command("openssl", { args, stdin: "null", stdout: "piped", stderr: "piped" });
}

/** What `openssl s_client <args>` offering ALPN `iotnet/1` to `host:port` prints, both streams. */
export async function sClient(host: string, port: number, args: string[]): Promise<string> {
  const { stdout, stderr } = await openssl([
    "s_client",
    "-connect",
    `${host.includes(":") ? `[${host}]` : host}:${port}`,
    "-alpn",
    "iotnet/1",
    ...args,
  ]).output();
  return new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
}

/** Whether this machine has IPv6 loopback (`::1`) to listen on. */
export function hasIpv6Loopback(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}
