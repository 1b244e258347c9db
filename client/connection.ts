/**
 * The edge's connection to the server: handshake, requests matched to responses by id,
 * server pushes as callbacks, and uploads streamed from disk in DATA frames with the
 * socket's own backpressure. `dial.ts` opens its TCP or TLS connection.
 *
 * @module
 */

import { decodeMessage, encodeMessage } from "../protocol/codec.ts";
import { CancelledError, ProtocolError, requestErrorOf } from "../protocol/errors.ts";
import { DATA_FRAME_HEADER_BYTES, FrameDecoder, writeDataFrameHeader } from "../protocol/frame.ts";
import { PROTOCOL_NAME, PROTOCOL_VERSION, UPLOAD_CHUNK_BYTES } from "../protocol/limits.ts";
import type { Message, Op, Push, RequestArgs, ResultFields } from "../protocol/messages.ts";
import { looksLikeTls } from "../tls/alpn.ts";
import { base64, decodeBase64, type DeviceKey } from "../tls/device_key.ts";
import { keyLoginMessage } from "../tls/key_login.ts";
import { dial, type DialTls } from "./dial.ts";
import { deferred, writeAll } from "../internal/mod.ts";

/** The connection is gone; requests in flight fail with this. */
export class ConnectionClosedError extends Error {
  /** The class name, for logs and stack traces. */
  override name = "ConnectionClosedError";
}

/** Options of {@linkcode EdgeConnection.connect}. */
export interface ConnectOptions {
  /** The server's host name or address. */
  hostname: string;
  /** The server's TCP port. */
  port: number;
  /** Speak TLS and accept only a server this CA vouches for (`--tls-ca`). */
  tls?: DialTls;
  /** Receives every server push. */
  onPush?: (push: Push) => void;
}

/** Time the TLS handshake has, in milliseconds. */
export const TLS_HANDSHAKE_MS = 10_000;

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
  /** What a key login on this connection signs, from the server's hello reply. */
  #challenge: Uint8Array<ArrayBuffer> | undefined;

  private constructor(conn: ConnectionStream, localHostname: string, onPush: (push: Push) => void) {
    this.#conn = conn;
    this.#localHostname = localHostname;
    this.#onPush = onPush;
    void this.#readLoop();
  }

  /**
   * Connects and says hello.
   *
   * @throws {Error} with a message saying what failed and what to do.
   */
  static async connect(options: ConnectOptions): Promise<EdgeConnection> {
    const conn = await dial({
      hostname: options.hostname,
      port: options.port,
      ...(options.tls && { tls: options.tls, signal: AbortSignal.timeout(TLS_HANDSHAKE_MS) }),
    });
    return await EdgeConnection.open(conn, {
      localHostname: (conn.localAddr as Deno.NetAddr).hostname,
      server: `${options.hostname}:${options.port}`,
      ...(options.onPush && { onPush: options.onPush }),
    });
  }

  /**
   * Says hello over an open byte stream (a TCP connection, or an in-memory one in tests).
   *
   * @param conn the stream; the connection owns it from now on and closes it (at once,
   *   when the hello fails).
   * @throws {Error} naming the server, when it refuses the connection.
   * @throws {RequestError} when it refuses the hello (`UnsupportedVersionError`).
   * @throws {ConnectionClosedError} when the stream ends first.
   */
  static async open(conn: ConnectionStream, options: OpenOptions): Promise<EdgeConnection> {
    // A server that turns the connection away says why in a logout push first.
    let refusal: string | undefined;
    const connection = new EdgeConnection(conn, options.localHostname, (push) => {
      if (push.event === "logout") refusal = push.message;
      options.onPush?.(push);
    });
    try {
      const { challenge } = await connection.request("hello", {
        protocol: PROTOCOL_NAME,
        version: PROTOCOL_VERSION,
      });
      connection.#challenge = challenge === undefined ? undefined : decodeBase64(challenge);
    } catch (error) {
      connection.close();
      if (refusal === undefined) throw error;
      throw new Error(`the server at ${options.server} refused the connection: ${refusal}`, {
        cause: error,
      });
    }
    connection.onPush = options.onPush ?? (() => {});
    return connection;
  }

  /**
   * Logs in as `name` with a device key (SPEC §7): signs this connection's challenge.
   *
   * @throws {RequestError} as a password login does (`BadCredentialsError`, ...).
   * @throws {Error} when the server gave no challenge (it predates key logins).
   */
  async loginWithKey(name: string, key: DeviceKey): Promise<ResultFields<"login">> {
    if (!this.#challenge) {
      throw new Error(
        "the server offers no key login (no challenge); update it, or use a password",
      );
    }
    const signature = await key.sign(keyLoginMessage(this.#challenge, name));
    return await this.request("login", { name, signature: base64(signature) });
  }

  /** This end's address on the connection (where the server sees this edge). */
  get localHostname(): string {
    return this.#localHostname;
  }

  /** Replaces the push callback. */
  set onPush(callback: (push: Push) => void) {
    this.#onPush = callback;
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
        if (n === null) break;
        if (first && looksLikeTls(buffer.subarray(0, n))) {
          reason = "the server expects TLS; give --tls-ca the ca.crt of this deployment";
          break;
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
    this.#shutdown(reason);
  }

  #dispatch(message: Message): void {
    if (message.t === "push") return this.#onPush(message);
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
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    for (const pending of this.#pending.values()) pending.reject(new ConnectionClosedError(reason));
    this.#pending.clear();
    this.#closed.resolve(reason);
  }
}
