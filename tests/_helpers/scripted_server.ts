/**
 * The server end of an in-memory byte stream, for testing the edge's connection and
 * commands in process: it decodes the frames the edge writes and answers each request as
 * the test's script says. Hand its `stream` to `EdgeConnection.open`.
 *
 * @module
 */

import { decodeMessage, encodeMessage } from "../../protocol/codec.ts";
import { FrameDecoder } from "../../protocol/frame.ts";
import { PROTOCOL_VERSION } from "../../protocol/limits.ts";
import type { Message, Push, Request } from "../../protocol/messages.ts";
import type { ConnectionStream } from "../../client/connection.ts";

/** What the script answers to a request: messages to send back (none: no answer). */
export type Script = (request: Request) => Message[];

/** A scripted server on an in-memory stream. */
export class ScriptedServer {
  /** Every request the edge sent, in order. */
  readonly requests: Request[] = [];
  /** The keepalive interval the hello announces. */
  keepaliveMs = 15_000;
  readonly #script: Script;
  readonly #decoder = new FrameDecoder();
  readonly #outbound: Uint8Array[] = [];
  #wake: (() => void) | undefined;
  #ended = false;

  /** @param script answers requests other than `hello` (which is answered as a server would). */
  constructor(script: Script) {
    this.#script = script;
  }

  /** The edge's end of the stream. */
  readonly stream: ConnectionStream = {
    read: (buffer) => this.#read(buffer),
    write: (bytes) => Promise.resolve(this.#received(bytes)),
    close: () => this.end(),
  };

  /** Sends a push to the edge. */
  push(push: Push): void {
    this.#send(push);
  }

  /** Closes the stream from the server's side. */
  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  #received(bytes: Uint8Array): number {
    // A server that has closed hears nothing more.
    if (this.#ended) return bytes.length;
    for (const frame of this.#decoder.frames(bytes)) {
      if (frame.kind !== "message") continue;
      const request = decodeMessage(frame.body) as Request;
      this.requests.push(request);
      const answers: Message[] = request.op === "hello"
        ? [{
          t: "res",
          id: request.id,
          ok: true,
          version: PROTOCOL_VERSION,
          loginDeadlineMs: 60_000,
          maxFrameBytes: 1 << 20,
          keepaliveMs: this.keepaliveMs,
        }]
        : this.#script(request);
      for (const message of answers) this.#send(message);
    }
    return bytes.length;
  }

  #send(message: Message): void {
    this.#outbound.push(encodeMessage(message));
    this.#wake?.();
  }

  async #read(buffer: Uint8Array): Promise<number | null> {
    while (this.#outbound.length === 0) {
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
    const next = this.#outbound[0]!;
    const n = Math.min(next.length, buffer.length);
    buffer.set(next.subarray(0, n));
    if (n === next.length) this.#outbound.shift();
    else this.#outbound[0] = next.subarray(n);
    return n;
  }
}

/** A successful response to `request` with `fields`. */
export function ok(request: Request, fields: Record<string, unknown> = {}): Message {
  return { t: "res", id: request.id, ok: true, ...fields } as Message;
}
