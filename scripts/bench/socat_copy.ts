/**
 * The copy the `ued` and `uvf` sections time as their reference: socat sends a file over
 * loopback to a socat that writes it to another file, over plain TCP or over TLS
 * (socat's OPENSSL address type).
 *
 * @module
 */

import { startToolServer } from "./tool_server.ts";

/** The certificate files of a TLS copy: the receiver serves `cert`, the sender trusts `ca`. */
export interface SocatTls {
  /** The server certificate (PEM file) the receiving socat presents. */
  cert: string;
  /** Its private key (PEM file). */
  key: string;
  /** The CA certificate (PEM file) the sending socat verifies it against. */
  ca: string;
}

/**
 * Copies `path` to `target` through a loopback connection between two socat processes,
 * and times it from the sender's start to the receiver's exit.
 *
 * @param path the file sent.
 * @param target the file written (created or truncated).
 * @param tls when given, the copy runs over TLS: `OPENSSL-LISTEN` with this certificate
 *   (not asking the sender for one), `OPENSSL:` verifying it against the CA.
 * @returns the time in milliseconds, or `NaN` and what the sender said when it failed.
 * @throws {ToolServerError} when the receiving socat does not listen.
 */
export async function socatCopy(
  path: string,
  target: string,
  tls?: SocatTls,
): Promise<{ ms: number; failure?: string }> {
  // One-shot: the receiver exits when the sender closes the connection.
  await using receiver = await startToolServer({
    transport: "tcp",
    port: "kernel",
    command: (port) => [
      "socat",
      "-u",
      tls
        ? `OPENSSL-LISTEN:${port},bind=127.0.0.1,cert=${tls.cert},key=${tls.key},verify=0`
        : `TCP-LISTEN:${port},bind=127.0.0.1`,
      `OPEN:${target},creat,trunc`,
    ],
  });
  const start = performance.now();
  const sender = await new Deno.Command("socat", {
    args: [
      "-u",
      `OPEN:${path}`,
      tls
        ? `OPENSSL:127.0.0.1:${receiver.port},cafile=${tls.ca}`
        : `TCP:127.0.0.1:${receiver.port}`,
    ],
  }).output();
  if (!sender.success) {
    // The receiver may never have had a connection: it is stopped, not waited for.
    const said = new TextDecoder().decode(sender.stderr).trim();
    return {
      ms: NaN,
      failure: `the socat sender exited with ${sender.code}: ${said || "no message"}`,
    };
  }
  await receiver.child.status;
  return { ms: performance.now() - start };
}
