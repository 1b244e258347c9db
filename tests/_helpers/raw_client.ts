/**
 * A bare protocol client for tests that must misbehave on purpose: half uploads, bad
 * frames, abrupt closes. Built on the pure codec, nothing from the edge program.
 *
 * @module
 */

import { decodeMessage, encodeMessage } from "../../protocol/codec.ts";
import { encodeDataFrame, FrameDecoder } from "../../protocol/frame.ts";
import { PROTOCOL_NAME, PROTOCOL_VERSION } from "../../protocol/limits.ts";
import type { Message } from "../../protocol/messages.ts";
import { ACCOUNTS } from "./server_process.ts";
import { writeAll } from "../../internal/write_all.ts";

/** A raw connection to the server. */
/** The hello request of this protocol version. */
export const HELLO = { op: "hello", protocol: PROTOCOL_NAME, version: PROTOCOL_VERSION };

export class RawClient implements Disposable {
  readonly conn: Deno.TcpConn;
  readonly #decoder = new FrameDecoder();
  readonly #inbox: Message[] = [];
  #nextId = 1;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
  }

  /** Connects; with `login`, also says hello, logs in and registers a UDP port. */
  static async connect(port: number, login?: string): Promise<RawClient> {
    const client = new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
    if (login) {
      await client.request(HELLO);
      const res = await client.request({ op: "login", name: login, password: ACCOUNTS[login]! });
      if (!("ok" in res) || res.ok !== true) {
        throw new Error(`login failed: ${JSON.stringify(res)}`);
      }
      await client.request({ op: "udp_port", port: 9 });
    }
    return client;
  }

  /** Sends raw bytes. */
  async write(bytes: Uint8Array): Promise<void> {
    await writeAll(this.conn, bytes);
  }

  /** Sends a request (id filled in) without waiting. */
  async send(fields: Record<string, unknown>): Promise<number> {
    const id = this.#nextId++;
    await this.write(encodeMessage({ t: "req", id, ...fields } as Message));
    return id;
  }

  /** Sends DATA for stream `id`. */
  sendData(id: number, bytes: Uint8Array): Promise<void> {
    return this.write(encodeDataFrame(id, bytes));
  }

  /** Sends a request and returns its response. */
  async request(fields: Record<string, unknown>): Promise<Message> {
    const id = await this.send(fields);
    return await this.receive((m) => m.t === "res" && m.id === id);
  }

  /** Next message matching `match`; `null` when the server closed the connection. */
  async receive(match: (m: Message) => boolean = () => true): Promise<Message> {
    const buffer = new Uint8Array(65536);
    for (;;) {
      const index = this.#inbox.findIndex(match);
      if (index >= 0) return this.#inbox.splice(index, 1)[0]!;
      const n = await this.conn.read(buffer);
      if (n === null) throw new Error("server closed the connection");
      for (const frame of this.#decoder.frames(buffer.slice(0, n))) {
        if (frame.kind === "message") this.#inbox.push(decodeMessage(frame.body));
      }
    }
  }

  /** Reads until the server closes; returns the messages it sent before closing. */
  async drainUntilClosed(): Promise<Message[]> {
    const buffer = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await this.conn.read(buffer);
        if (n === null) break;
        for (const frame of this.#decoder.frames(buffer.slice(0, n))) {
          if (frame.kind === "message") this.#inbox.push(decodeMessage(frame.body));
        }
      }
    } catch {
      // reset by the server
    }
    return this.#inbox.splice(0);
  }

  [Symbol.dispose](): void {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}
