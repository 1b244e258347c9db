/**
 * The server's side of TLS on a connection already open and partly read: with
 * `--proxy-protocol` and `--tls-cert`, the balancer's PROXY header comes in clear before
 * the device's ClientHello (haproxy passing TLS through with `send-proxy-v2`).
 * `Deno.listenTls` starts TLS on the first byte and Deno has no server-side `startTls`, so
 * this side runs through `node:tls` (a `TLSSocket` with `isServer` over the connection),
 * and hands the session the same byte stream shape as a `Deno.Conn`.
 *
 * @module
 */

import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { type Clock, type TimerId, writeAll } from "../internal/mod.ts";
import { TLS_ALPN_PROTOCOL } from "../protocol/limits.ts";
import type { SessionConn } from "./session.ts";

/**
 * Bytes one read from the socket takes in: little while the connection is quiet (most
 * are: one read waits on each of them), more once a read filled that, as the session's
 * own buffers do (`server/session.ts`).
 */
const QUIET_READ_BYTES = 4 * 1024;
const BUSY_READ_BYTES = 64 * 1024;

/** The certificate and key made ready once for every connection. */
export type ServerTlsContext = tls.SecureContext;

/**
 * Parses the server's certificate and key once, and checks them now: `node:tls` would
 * take anything here and fail every handshake later, where `Deno.listenTls` refuses them
 * at start. TLS 1.3 only: unlike `Deno.listenTls`, `node:tls` can refuse older versions,
 * and the edge speaks 1.3.
 *
 * @throws {Error} saying which of the two cannot be used, or that they do not match.
 */
export function serverTlsContext(identity: { cert: string; key: string }): ServerTlsContext {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(identity.cert);
  } catch (error) {
    throw new Error(`the certificate is not a PEM certificate (${(error as Error).message})`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(identity.key);
  } catch (error) {
    throw new Error(`the key is not a PEM private key (${(error as Error).message})`);
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new Error("the key is not the certificate's: they do not match");
  }
  return tls.createSecureContext({
    cert: identity.cert,
    key: identity.key,
    minVersion: "TLSv1.3",
  });
}

/** Options of {@linkcode acceptTls}. */
export interface AcceptTlsOptions {
  context: ServerTlsContext;
  /** What the client sent after the PROXY header: the start of its ClientHello. */
  rest: Uint8Array;
  /** Time the handshake has. */
  deadlineMs: number;
  clock: Clock;
  /** Aborted when the server closes: the handshake ends. */
  signal?: AbortSignal;
}

/**
 * Runs the server's TLS handshake on `conn` within the deadline, requiring ALPN
 * {@linkcode TLS_ALPN_PROTOCOL}.
 *
 * @returns the decrypted stream, or what went wrong (`conn` is then closed). Never throws.
 */
export async function acceptTls(
  conn: Deno.Conn,
  options: AcceptTlsOptions,
): Promise<{ conn: SessionConn } | { problem: string }> {
  const { context, rest, deadlineMs, clock, signal } = options;
  const socket = new tls.TLSSocket(duplexOf(conn, rest), {
    isServer: true,
    secureContext: context,
    ALPNProtocols: [TLS_ALPN_PROTOCOL],
  });
  // Errors are read from the events below and then from the stream; one with no listener
  // would end the process.
  socket.on("error", () => {});
  let timer: TimerId | undefined;
  let onAbort: (() => void) | undefined;
  const problem = await new Promise<string | undefined>((resolve) => {
    timer = clock.setTimeout(() => resolve(`no handshake within ${deadlineMs} ms`), deadlineMs);
    onAbort = () => resolve("the server is shutting down");
    if (signal?.aborted) onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("secure", () =>
      resolve(
        socket.alpnProtocol === TLS_ALPN_PROTOCOL
          ? undefined
          : `the client did not offer ALPN ${TLS_ALPN_PROTOCOL}`,
      ));
    socket.once("error", (error: Error) => resolve(describeTlsError(error)));
    socket.once("close", () => resolve("the client closed the connection during the handshake"));
  });
  clock.clearTimeout(timer!);
  signal?.removeEventListener("abort", onAbort!);
  if (problem !== undefined) {
    socket.destroy();
    return { problem };
  }
  return { conn: new TlsSocketConn(socket) };
}

function describeTlsError(error: Error): string {
  const message = error.message;
  // A plain iotnet frame read as a TLS record.
  if (
    /wrong version number|InvalidContentType|corrupt message|invalid content type/i.test(message)
  ) {
    return `the client does not speak TLS (${message}); the device needs --tls-ca`;
  }
  if (/SupportedVersionsExtensionRequired|protocol version/i.test(message)) {
    return `the client does not offer TLS 1.3 (${message}); this port takes TLS 1.3 only`;
  }
  return message;
}

/** A Node stream over a Deno connection, `first` read before the socket. */
function duplexOf(conn: Deno.Conn, first: Uint8Array): Duplex {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // already closed
    }
  };
  const quiet = new Uint8Array(QUIET_READ_BYTES);
  let busy: Uint8Array | undefined;
  let pending: Uint8Array | undefined = first.length > 0 ? first : undefined;
  const duplex = new Duplex({
    async read() {
      if (pending) {
        // Deno 2.9's TLSSocket starts itself on a later tick: bytes it reads before that
        // and fails on (a plain client after the header) destroy it, and its start then
        // throws an uncaught TypeError that ends the process. Give it a turn first.
        const bytes = pending;
        pending = undefined;
        await new Promise((resolve) => setTimeout(resolve, 0));
        this.push(bytes);
        return;
      }
      try {
        const buffer = busy ?? quiet;
        const n = await conn.read(buffer);
        busy = n === buffer.length ? busy ?? new Uint8Array(BUSY_READ_BYTES) : undefined;
        this.push(n === null ? null : buffer.slice(0, n));
      } catch (error) {
        // A socket closed by this side ends the stream; anything else is an error.
        if (closed) this.push(null);
        else this.destroy(error as Error);
      }
    },
    write(chunk: Uint8Array, _encoding, callback) {
      writeAll(conn, chunk).then(() => callback(), (error) => callback(error as Error));
    },
    final(callback) {
      close();
      callback();
    },
    destroy(error, callback) {
      close();
      callback(error);
    },
  });
  // The TLS socket reports what goes wrong underneath; an error event nobody listens to
  // would end the process.
  duplex.on("error", () => {});
  return duplex;
}

/** A `TLSSocket` in the shape of a `Deno.Conn`: reads into a buffer, writes resolve. */
class TlsSocketConn implements SessionConn {
  readonly #socket: tls.TLSSocket;
  #chunk: Uint8Array | undefined;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(socket: tls.TLSSocket) {
    this.#socket = socket;
    const wake = () => {
      const w = this.#wake;
      this.#wake = undefined;
      w?.();
    };
    socket.on("readable", wake);
    socket.on("end", () => {
      this.#ended = true;
      wake();
    });
    socket.on("close", () => {
      this.#ended = true;
      wake();
    });
    socket.on("error", (error: Error) => {
      this.#error = error;
      wake();
    });
  }

  async read(buffer: Uint8Array): Promise<number | null> {
    for (;;) {
      const chunk = this.#chunk ?? (this.#socket.read() as Uint8Array | null) ?? undefined;
      if (chunk !== undefined) {
        const n = Math.min(buffer.length, chunk.length);
        buffer.set(chunk.subarray(0, n));
        this.#chunk = n < chunk.length ? chunk.subarray(n) : undefined;
        return n;
      }
      if (this.#error) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  write(bytes: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#socket.write(bytes, (error) => error ? reject(error) : resolve(bytes.length));
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}
