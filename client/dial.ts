/**
 * Opens the edge's TCP connection to the server, in clear or under TLS 1.3 (SPEC §7),
 * and turns every way the two ends can disagree into one line that says what to do.
 *
 * @module
 */

import { TLS_ALPN } from "../tls/alpn.ts";

/** How the edge checks the server under TLS. */
export interface DialTls {
  /** PEM of the deployment's CA (`ca.crt` from `iotnet cert`). */
  caCerts: string[];
}

/** Options of {@linkcode dial}. */
export interface DialOptions {
  hostname: string;
  port: number;
  /** Speak TLS, accepting only a server certificate from this CA that names `hostname`. */
  tls?: DialTls;
  /** Closes the connection (and so ends the handshake) when it aborts. */
  signal?: AbortSignal;
}

/** A connection could not be opened; the message names the address and what to do. */
export class DialError extends Error {
  override name = "DialError";
}

/**
 * Connects with no-delay on, then runs the TLS handshake at once when asked to.
 *
 * @throws {DialError} when the server cannot be reached, or the TLS handshake fails.
 */
export async function dial(options: DialOptions): Promise<Deno.Conn> {
  const { hostname, port, tls, signal } = options;
  const address = `${hostname}:${port}`;
  let tcp: Deno.TcpConn;
  try {
    tcp = await Deno.connect({ hostname, port, ...(signal && { signal }) });
  } catch (error) {
    const what = error instanceof Deno.errors.ConnectionRefused
      ? "connection refused; is `iotnet server` running on that port?"
      : (error as Error).message;
    throw new DialError(`cannot reach the server at ${address}: ${what}`, { cause: error });
  }
  // TlsConn has no setNoDelay: set it before the handshake, or Nagle and delayed ACKs add
  // tens of milliseconds to it.
  tcp.setNoDelay(true);
  if (!tls) return tcp;
  // Closing a connection does not end a handshake already waiting on it: the wait is raced
  // against the signal, and whatever is open is closed when it fires.
  let conn: Deno.TlsConn | undefined;
  const { promise: aborted, reject } = Promise.withResolvers<never>();
  aborted.catch(() => {});
  const abort = () => {
    closeQuietly(conn ?? tcp);
    reject(signal?.reason);
  };
  if (signal?.aborted) abort();
  else signal?.addEventListener("abort", abort, { once: true });
  try {
    const starting = Deno.startTls(tcp, {
      hostname,
      caCerts: tls.caCerts,
      alpnProtocols: [TLS_ALPN],
    });
    // One that comes too late is closed at once.
    starting.then((late) => signal?.aborted && closeQuietly(late), () => {});
    conn = await Promise.race([starting, aborted]);
    const { alpnProtocol } = await Promise.race([conn.handshake(), aborted]);
    if (alpnProtocol !== TLS_ALPN) {
      throw new DialError(
        `the TLS server at ${address} is not an iotnet server (it did not agree to ` +
          `${TLS_ALPN}); check the host and port`,
      );
    }
    return conn;
  } catch (error) {
    closeQuietly(conn ?? tcp);
    if (error instanceof DialError) throw error;
    if (signal?.aborted) {
      throw new DialError(
        `the TLS handshake with ${address} did not finish in time; check that the server ` +
          "runs with --tls-cert and --tls-key",
        { cause: error },
      );
    }
    throw new DialError(`TLS with ${address} failed: ${tlsProblem(error as Error)}`, {
      cause: error,
    });
  } finally {
    signal?.removeEventListener("abort", abort);
  }
}

/** What a failed client handshake means, and what to do about it. */
export function tlsProblem(error: Error): string {
  const text = error.message;
  if (/UnknownIssuer|BadSignature|UnknownCA/i.test(text)) {
    return "the server's certificate is not signed by the --tls-ca given; give the ca.crt " +
      "of this deployment (the one `iotnet cert` made with the server's certificate)";
  }
  if (/not valid for name|NotValidForName/i.test(text)) {
    return "the server's certificate does not name the host dialled; dial a name it holds, " +
      "or issue a new one with `iotnet cert <dir> --host <name>`";
  }
  if (/Expired/i.test(text)) {
    return "the server's certificate has expired (or this device's clock is wrong); issue " +
      "a new one with `iotnet cert <dir>` and restart the server";
  }
  if (/NotValidYet/i.test(text)) {
    return "the server's certificate is not valid yet; check this device's clock";
  }
  if (
    error instanceof Deno.errors.UnexpectedEof || /corrupt message|InvalidContentType/i.test(text)
  ) {
    return "the server does not speak TLS; leave out --tls-ca, or start the server with " +
      "--tls-cert and --tls-key";
  }
  if (/NoApplicationProtocol|no_application_protocol/i.test(text)) {
    return `the server does not speak ${TLS_ALPN}; check the host and port`;
  }
  return text;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
