/**
 * Takes a connection from the TLS listener to a finished handshake (SPEC §7): the
 * ClientHello must offer TLS 1.3 (`server/tls13_gate.ts`, when it runs), the handshake
 * must end within the login deadline, and the client must have chosen ALPN
 * {@linkcode TLS_ALPN_PROTOCOL}.
 *
 * @module
 */

import type { Clock, TimerId } from "../internal/mod.ts";
import { TLS_ALPN_PROTOCOL } from "../protocol/limits.ts";
import type { Tls13Gate } from "./tls13_gate.ts";

/** Options of {@linkcode handshakeTls}. */
export interface HandshakeTlsOptions {
  /** The TLS 1.3 check; none when it cannot run (TLS 1.2 is then accepted too). */
  gate: Tls13Gate | undefined;
  /** Milliseconds for the ClientHello and the handshake together. */
  deadlineMs: number;
  clock: Clock;
  /** The server is closing: stop waiting. */
  signal: AbortSignal;
}

/**
 * Checks `conn`'s ClientHello and runs its TLS handshake, within `deadlineMs` in all.
 * On a problem the caller closes `conn`.
 *
 * @returns undefined when the handshake succeeded, else what went wrong.
 */
export async function handshakeTls(
  conn: Deno.TlsConn,
  options: HandshakeTlsOptions,
): Promise<string | undefined> {
  const { gate, deadlineMs, clock, signal } = options;
  const started = clock.now();
  const refused = await gate?.admit(conn, { deadlineMs, signal });
  if (refused !== undefined) return refused;
  let timer: TimerId | undefined;
  let onAbort: (() => void) | undefined;
  const late = new Promise<string>((resolve) => {
    const left = Math.max(0, started + deadlineMs - clock.now());
    timer = clock.setTimeout(() => resolve(`no handshake within ${deadlineMs} ms`), left);
    onAbort = () => resolve("the server is shutting down");
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([
      conn.handshake().then((info) =>
        info.alpnProtocol === TLS_ALPN_PROTOCOL
          ? undefined
          : `the client did not offer ALPN ${TLS_ALPN_PROTOCOL}`
      ),
      late,
    ]);
  } catch (error) {
    const message = (error as Error).message;
    // rustls reads a plain iotnet frame as a record of an unknown content type.
    return /InvalidContentType|corrupt message|invalid content type/i.test(message)
      ? `the client does not speak TLS (${message}); the device needs --tls-ca`
      : message;
  } finally {
    if (timer !== undefined) clock.clearTimeout(timer);
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}
