/**
 * The edge's connection to the server: handshake, requests matched to responses by id,
 * server pushes as callbacks, and uploads streamed from disk in DATA frames with the
 * socket's own backpressure. This is the only client file that calls `Deno.connect`.
 *
 * @module
 */

import { decodeMessage, encodeMessage } from "../protocol/codec.ts";
import { CancelledError, ProtocolError, requestErrorOf } from "../protocol/errors.ts";
import { DATA_FRAME_HEADER_BYTES, FrameDecoder, writeDataFrameHeader } from "../protocol/frame.ts";
import {
  CONNECT_TIMEOUT_MS,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  TLS_ALPN_PROTOCOL,
  UPLOAD_CHUNK_BYTES,
} from "../protocol/limits.ts";
import type {
  Message,
  Op,
  Push,
  PushFields,
  RequestArgs,
  ResultFields,
} from "../protocol/messages.ts";
import { type Clock, deferred, SilenceWatch, systemClock, writeAll } from "../internal/mod.ts";

/** The connection is gone; requests in flight fail with this. */
export class ConnectionClosedError extends Error {
  /** The class name, for logs and stack traces. */
  override name = "ConnectionClosedError";
}

/**
 * Nothing at the address completed the iotnet handshake (refused, silent, another
 * protocol, or a server that turned the connection away); the message names the address
 * and what to check.
 */
export class ConnectError extends Error {
  /** The class name, for logs and stack traces. */
  override name = "ConnectError";
}

/** Options of {@linkcode EdgeConnection.connect}. */
export interface ConnectOptions {
  /** The server's host name or address. */
  hostname: string;
  /** The server's TCP port. */
  port: number;
  /** Time the connect and the hello have together. Default {@linkcode CONNECT_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Times the connect timeout and the keepalive. Default: the system clock. */
  clock?: Clock;
  /** Receives every server push. */
  onPush?: (push: Push) => void;
  /** The deployment's CA certificate (PEM text): connect with TLS and trust only it. */
  tlsCa?: string;
}

/**
 * The byte stream a connection runs over: the shape of `Deno.Conn`, so a test can give
 * an in-memory one.
 */
export interface ConnectionStream {
  /** Reads into `buffer`; resolves with the count, or `null` at the end of the stream. */
  read(buffer: Uint8Array): Promise<number | null>;
  /** Writes some of `bytes`; resolves with how many were written. */
  write(bytes: Uint8Array): Promise<number>;
  /** Closes the stream; a pending `read` then ends. */
  close(): void;
}

/** Options of {@linkcode EdgeConnection.open}. */
export interface OpenOptions {
  /** This end's address, where the server sees this edge (the peer port listens there). */
  localHostname: string;
  /** Names the server in messages (`host:port`). */
  server: string;
  /** Times the keepalive. Default: the system clock. */
  clock?: Clock;
  /** Receives every server push. */
  onPush?: (push: Push) => void;
}

interface Pending {
  op: Op;
  resolve(fields: Record<string, unknown>): void;
  reject(error: Error): void;
}

/** Bytes to upload: `Deno.FsFile` is one; so is anything with its `read`. */
export interface UploadSource {
  /** Reads into `buffer`; resolves with the count, or `null` at the end. */
  read(buffer: Uint8Array): Promise<number | null>;
}

/** Options of {@linkcode EdgeConnection.upload}. */
export interface UploadOptions {
  /** Called after each chunk with the bytes sent and the total. */
  onProgress?: ((sent: number, total: number) => void) | undefined;
  /** Cancels the upload while its bytes are being sent. */
  signal?: AbortSignal | undefined;
}

/** A connection to the iotnet server. */
export class EdgeConnection {
  readonly #conn: ConnectionStream;
  readonly #localHostname: string;
  readonly #pending = new Map<number, Pending>();
  readonly #closed = deferred<string>();
  #onPush: (push: Push) => void;
  #nextId = 1;
  #writeChain: Promise<unknown> = Promise.resolve();
  #closeReason: string | undefined;
  readonly #clock: Clock;
  /** The server's `logout` push, if it sent one: why it is closing the connection. */
  #farewell: PushFields<"logout"> | undefined;
  /** Set once the hello told the keepalive interval. */
  #silence: SilenceWatch | undefined;

  private constructor(
    conn: ConnectionStream,
    localHostname: string,
    clock: Clock,
    onPush: (push: Push) => void,
  ) {
    this.#conn = conn;
    this.#localHostname = localHostname;
    this.#clock = clock;
    this.#onPush = onPush;
    void this.#readLoop();
  }

  /**
   * Connects and says hello, within `timeoutMs` for both.
   *
   * @throws {ConnectError} naming the address, what failed and what to check.
   * @throws {RequestError} when the server refuses the hello (`UnsupportedVersionError`).
   */
  static async connect(options: ConnectOptions): Promise<EdgeConnection> {
    const address = `${options.hostname}:${options.port}`;
    const clock = options.clock ?? systemClock;
    const timeoutMs = options.timeoutMs ?? CONNECT_TIMEOUT_MS;
    const deadline = new AbortController();
    const timer = clock.setTimeout(() => deadline.abort(), timeoutMs);
    let conn: Deno.TcpConn | undefined;
    try {
      conn = await Deno.connect({
        hostname: options.hostname,
        port: options.port,
        signal: deadline.signal,
      });
      // Before startTls too: a TlsConn has no setNoDelay, and Nagle costs the handshake ~40 ms.
      conn.setNoDelay(true);
      let stream: ConnectionStream = conn;
      // Past the deadline the stream is closed, which ends the hello (startTls ends its
      // own handshake).
      deadline.signal.addEventListener("abort", () => closeQuietly(stream), { once: true });
      if (options.tlsCa !== undefined) {
        stream = await startTls(conn, {
          hostname: options.hostname,
          port: options.port,
          ca: options.tlsCa,
          signal: deadline.signal,
        });
      }
      return await EdgeConnection.open(stream, {
        localHostname: conn.localAddr.hostname,
        server: address,
        clock,
        ...(options.onPush && { onPush: options.onPush }),
      });
    } catch (error) {
      if (deadline.signal.aborted) {
        throw new ConnectError(
          `nothing at ${address} completed the iotnet handshake within ` +
            `${timeoutMs / 1000} s; check that \`iotnet server\` runs there and that the host ` +
            "and port are right (--connect-timeout sets the wait)",
          { cause: error },
        );
      }
      if (error instanceof ConnectionClosedError) {
        throw new ConnectError(
          `the program at ${address} closed the connection during the iotnet handshake ` +
            `(${error.message}); check that the port is an iotnet server's`,
          { cause: error },
        );
      }
      if (!(error instanceof Deno.errors.ConnectionRefused) || conn !== undefined) throw error;
      throw new ConnectError(
        `cannot reach the server at ${address}: connection refused; ` +
          "is `iotnet server` running on that port?",
        { cause: error },
      );
    } finally {
      clock.clearTimeout(timer);
    }
  }

  /**
   * Says hello over an open byte stream (a TCP connection, or an in-memory one in tests),
   * then keeps it alive: it answers the server's `keepalive`, sends one itself after an
   * interval without a word from the server, and gives the connection up after three.
   *
   * @param conn the stream; the connection owns it from now on and closes it (at once,
   *   when the hello fails).
   * @throws {ConnectError} naming the server, when it refuses the connection.
   * @throws {RequestError} when it refuses the hello (`UnsupportedVersionError`).
   * @throws {ConnectionClosedError} when the stream ends first.
   */
  static async open(conn: ConnectionStream, options: OpenOptions): Promise<EdgeConnection> {
    const clock = options.clock ?? systemClock;
    const connection = new EdgeConnection(
      conn,
      options.localHostname,
      clock,
      options.onPush ?? (() => {}),
    );
    let keepaliveMs: number;
    try {
      ({ keepaliveMs } = await connection.request("hello", {
        protocol: PROTOCOL_NAME,
        version: PROTOCOL_VERSION,
      }));
    } catch (error) {
      connection.close();
      // A server that turns the connection away says why in a logout push first.
      const refusal = connection.farewell?.message;
      if (refusal === undefined) throw error;
      throw new ConnectError(`the server at ${options.server} refused the connection: ${refusal}`, {
        cause: error,
      });
    }
    connection.#keepAlive(keepaliveMs);
    return connection;
  }

  #keepAlive(intervalMs: number): void {
    if (this.isClosed) return;
    this.#silence = new SilenceWatch({
      clock: this.#clock,
      intervalMs,
      onQuiet: () => this.#sendKeepalive(),
      onDead: (silentMs) =>
        this.#shutdown(
          `the server sent nothing for ${Math.round(silentMs / 1000)} s ` +
            `(keepalive ${intervalMs / 1000} s)`,
        ),
    });
  }

  #sendKeepalive(): void {
    void this.request("keepalive", {}).catch(() => {});
  }

  /** This end's address on the connection (where the server sees this edge). */
  get localHostname(): string {
    return this.#localHostname;
  }

  /** Replaces the push callback. */
  set onPush(callback: (push: Push) => void) {
    this.#onPush = callback;
  }

  /** The server's `logout` push, if it sent one (its reason says why it closed). */
  get farewell(): PushFields<"logout"> | undefined {
    return this.#farewell;
  }

  /** Whether the connection has closed. */
  get isClosed(): boolean {
    return this.#closeReason !== undefined;
  }

  /** Resolves with the reason once the connection has closed. */
  get closed(): Promise<string> {
    return this.#closed.promise;
  }

  /**
   * Sends a request and waits for its result.
   *
   * @throws {RequestError} when the server answers with an error: the class of its code
   *   (`NotFoundError`, `BlockedError`, ...).
   * @throws {ConnectionClosedError} when the connection ends first.
   */
  request<O extends Op>(op: O, args: RequestArgs<O>): Promise<ResultFields<O>> {
    return this.#start(op, args).result;
  }

  #start<O extends Op>(
    op: O,
    args: RequestArgs<O>,
  ): { id: number; result: Promise<ResultFields<O>> } {
    const id = this.#nextId++;
    const result = deferred<ResultFields<O>>();
    if (this.#closeReason !== undefined) {
      result.reject(new ConnectionClosedError(this.#closeReason));
      return { id, result: result.promise };
    }
    this.#pending.set(id, {
      op,
      resolve: (fields) => result.resolve(fields as ResultFields<O>),
      reject: result.reject,
    });
    void this.#write(encodeMessage({ t: "req", id, op, ...args } as Message)).catch(() => {});
    return { id, result: result.promise };
  }

  /**
   * Streams a file to the server as an upload of `fileID`.
   *
   * @param source where the `size` bytes come from: an open file, or anything that reads
   *   like one.
   * @param options `onProgress` is called after each chunk with bytes sent and total;
   *   `signal` cancels the upload (the server is told to drop it).
   * @throws {RequestError} when the server refuses the file (e.g. `InvalidDataError`).
   * @throws {CancelledError} when `signal` aborts before the server has stored the file
   *   (after that, the upload's result stands).
   * @example A data file uploaded as file 3, then summed by the server
   * ```ts
   * import assert from "node:assert/strict";
   * import { EdgeConnection } from "./connection.ts";
   * import { startServer } from "../server/mod.ts";
   *
   * const dir = await Deno.makeTempDir();
   * await Deno.writeTextFile(`${dir}/credentials.txt`, "watch1 pw1\n");
   * await Deno.writeTextFile(`${dir}/samples.txt`, "1\n2\n39\n");
   * {
   *   await using server = await startServer({ attempts: 3, dataDir: dir, log: () => {} });
   *   const edge = await EdgeConnection.connect({ hostname: "127.0.0.1", port: server.port });
   *   await edge.request("login", { name: "watch1", password: "pw1" });
   *   await edge.request("udp_port", { port: 40_000 });
   *   using file = await Deno.open(`${dir}/samples.txt`);
   *   const { size } = await file.stat();
   *   assert.deepEqual(await edge.upload(3, file, size), { fileID: 3, dataAmount: 3 });
   *   const { result } = await edge.request("compute", { fileID: 3, operation: "SUM" });
   *   assert.equal(result, "42");
   *   edge.close();
   * }
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  async upload(
    fileID: number,
    source: UploadSource,
    size: number,
    options: UploadOptions = {},
  ): Promise<ResultFields<"upload">> {
    const { onProgress, signal } = options;
    const { id, result } = this.#start("upload", { fileID, bytes: size });
    let settled = false;
    result.then(() => (settled = true), () => (settled = true));
    // Tells the server to drop the upload (and any of our frames still on their way); it
    // answers the upload with a failure, unless it had finished with it already.
    let aborted = false;
    const abort = () => {
      if (aborted) return;
      aborted = true;
      void this.request("upload_abort", { upload: id }).catch(() => {});
    };
    signal?.addEventListener("abort", abort, { once: true });
    if (signal?.aborted) abort();
    try {
      const buffer = new Uint8Array(DATA_FRAME_HEADER_BYTES + UPLOAD_CHUNK_BYTES);
      let sent = 0;
      while (sent < size && !settled && !aborted) {
        const want = Math.min(UPLOAD_CHUNK_BYTES, size - sent);
        const n = await source.read(
          buffer.subarray(DATA_FRAME_HEADER_BYTES, DATA_FRAME_HEADER_BYTES + want),
        );
        if (n === null) {
          abort();
          result.catch(() => {});
          throw new Error(
            `the file got shorter while it was being uploaded (${sent} of ${size} bytes)`,
          );
        }
        await this.#write(writeDataFrameHeader(buffer, id, n));
        sent += n;
        onProgress?.(sent, size);
      }
      try {
        return await result;
      } catch (error) {
        if (signal?.aborted) {
          throw new CancelledError(`upload of file ${fileID} cancelled; the server dropped it`, {
            cause: error,
          });
        }
        if (sent < size) abort();
        throw error;
      }
    } finally {
      signal?.removeEventListener("abort", abort);
    }
  }

  /** Closes the connection. */
  close(): void {
    this.#shutdown("closed by this edge");
  }

  #write(bytes: Uint8Array): Promise<void> {
    const next = this.#writeChain.then(async () => {
      await writeAll(this.#conn, bytes);
    });
    this.#writeChain = next.catch(() => {});
    return next;
  }

  async #readLoop(): Promise<void> {
    const decoder = new FrameDecoder();
    const buffer = new Uint8Array(64 * 1024);
    let reason = "the server closed the connection";
    let first = true;
    try {
      for (;;) {
        const n = await this.#conn.read(buffer);
        this.#silence?.heard();
        if (n === null) break;
        if (first && isTlsRecord(buffer.subarray(0, n))) {
          throw new ProtocolError(
            "it answered in TLS: the server expects TLS; give --tls-ca <ca.crt of the deployment>",
          );
        }
        first = false;
        for (const frame of decoder.frames(buffer.subarray(0, n))) {
          if (frame.kind !== "message") throw new ProtocolError("the server sent a data frame");
          this.#dispatch(decodeMessage(frame.body, (id) => this.#pending.get(id)?.op));
        }
      }
    } catch (error) {
      if (this.#closeReason === undefined) {
        reason = error instanceof ProtocolError
          ? `the server broke the protocol (${error.message})`
          : `the connection failed (${(error as Error).message})`;
      }
    }
    // A server that says why it closes is quoted (a login deadline, an idle timeout).
    if (this.#farewell && this.#closeReason === undefined) {
      reason = `the server closed the connection: ${this.#farewell.message}`;
    }
    this.#shutdown(reason);
  }

  #dispatch(message: Message): void {
    if (message.t === "push") {
      if (message.event === "keepalive") return this.#sendKeepalive();
      if (message.event === "logout") this.#farewell = message;
      return this.#onPush(message);
    }
    if (message.t !== "res") throw new ProtocolError("the server sent a request");
    const pending = this.#pending.get(message.id);
    if (!pending) throw new ProtocolError(`response to unknown request ${message.id}`);
    this.#pending.delete(message.id);
    if (message.ok) {
      const { t: _t, id: _id, ok: _ok, ...fields } = message;
      pending.resolve(fields);
    } else {
      pending.reject(requestErrorOf(message.error, message.message));
    }
  }

  #shutdown(reason: string): void {
    if (this.#closeReason !== undefined) return;
    this.#closeReason = reason;
    this.#silence?.stop();
    closeQuietly(this.#conn);
    for (const pending of this.#pending.values()) pending.reject(new ConnectionClosedError(reason));
    this.#pending.clear();
    this.#closed.resolve(reason);
  }
}

function closeQuietly(conn: { close(): void }): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
/**
 * Whether `bytes` begin with a TLS record header (handshake or alert, version 3.x): what
 * a TLS server answers a plain hello with.
 */
function isTlsRecord(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && (bytes[0] === 0x15 || bytes[0] === 0x16) && bytes[1] === 0x03 &&
    bytes[2]! <= 0x04;
}

/**
 * Starts TLS on `conn` and finishes the handshake (until `signal` aborts), trusting only
 * `ca` and requiring the certificate to name `hostname` (a DNS name or an IP address).
 *
 * @throws {ConnectError} saying what did not match and what to do; the connection is closed.
 */
async function startTls(
  conn: Deno.TcpConn,
  options: { hostname: string; port: number; ca: string; signal: AbortSignal },
): Promise<Deno.TlsConn> {
  const where = `${options.hostname}:${options.port}`;
  const tls = await Deno.startTls(conn, {
    hostname: options.hostname,
    caCerts: [options.ca],
    alpnProtocols: [TLS_ALPN_PROTOCOL],
  });
  // The connect deadline ends the handshake: the TCP connection is the TLS one's now.
  const onAbort = () => closeQuietly(tls);
  options.signal.addEventListener("abort", onAbort, { once: true });
  try {
    const info = await tls.handshake();
    if (info.alpnProtocol !== TLS_ALPN_PROTOCOL) {
      throw new Error(`it does not offer ALPN ${TLS_ALPN_PROTOCOL}; is it an iotnet server?`);
    }
    return tls;
  } catch (error) {
    closeQuietly(tls);
    if (options.signal.aborted) throw error; // the caller says the deadline passed
    throw new ConnectError(
      `TLS with the server at ${where} failed: ${tlsAdvice(error as Error, options.hostname)}`,
      { cause: error },
    );
  } finally {
    options.signal.removeEventListener("abort", onAbort);
  }
}

/** Turns a rustls failure into what it means for the operator, and what to do. */
function tlsAdvice(error: Error, hostname: string): string {
  const m = error.message;
  if (/UnknownIssuer|unknown ?issuer/i.test(m)) {
    return "its certificate is not signed by the CA in --tls-ca; give the ca.crt of that " +
      "deployment (the one `iotnet cert` wrote beside its server.crt)";
  }
  if (/not valid for name|NotValidForName/i.test(m)) {
    return `its certificate does not name ${hostname}; dial a name it lists, or issue a new ` +
      `one with \`iotnet cert <dir> --host ${hostname}\``;
  }
  if (/expired|NotValidYet|not valid yet/i.test(m)) {
    return "its certificate has expired (or is not valid yet; check both clocks); issue a new " +
      "one with `iotnet cert <dir>` and restart the server";
  }
  if (
    /corrupt message|InvalidContentType|invalid content type|peer is incompatible|HandshakeFailure|closed|reset|eof/i
      .test(m)
  ) {
    return `it does not speak TLS (${m}); drop --tls-ca, or start the server with ` +
      "--tls-cert and --tls-key";
  }
  return m;
}
