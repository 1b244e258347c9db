/**
 * The clients of one Server-Sent Events stream: at most a fixed number at once, each sent
 * the same bytes (encoded once for all of them), and a client that stops reading dropped
 * once it has more than a fixed number of messages queued, so a stalled browser never makes
 * the server hold memory without end. Closing ends every stream (the HTTP server's shutdown
 * waits for open responses).
 *
 * @module
 */

/** `text/event-stream` headers of a stream's response. */
const SSE_HEADERS = { "content-type": "text/event-stream", "x-accel-buffering": "no" } as const;

/**
 * One SSE message: `event` and its JSON `data` (one line: JSON has no raw newlines), with
 * an `id` when given.
 *
 * @example
 * ```ts
 * import { sseMessage } from "./sse_clients.ts";
 * import assert from "node:assert/strict";
 * assert.equal(sseMessage("tick", { n: 1 }, 7), 'id: 7\nevent: tick\ndata: {"n":1}\n\n');
 * ```
 */
export function sseMessage(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${
    JSON.stringify(data)
  }\n\n`;
}

/** The streams open to one kind of SSE client. */
export class SseClients {
  readonly #max: number;
  readonly #maxQueued: number;
  readonly #clients = new Set<ReadableStreamDefaultController<Uint8Array>>();

  /**
   * @param max streams open at once.
   * @param maxQueued messages a client may leave unread before it is dropped.
   */
  constructor(max: number, maxQueued: number) {
    this.#max = max;
    this.#maxQueued = maxQueued;
  }

  /** Clients connected now. */
  get size(): number {
    return this.#clients.size;
  }

  /**
   * A response streaming to one more client, starting with `first`; `undefined` when the
   * most allowed are connected.
   */
  open(first: Uint8Array): Response | undefined {
    if (this.#clients.size >= this.#max) return undefined;
    let mine: ReadableStreamDefaultController<Uint8Array> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        mine = controller;
        this.#clients.add(controller);
        controller.enqueue(first);
      },
      cancel: () => {
        if (mine) this.#clients.delete(mine);
      },
    });
    return new Response(body, { headers: SSE_HEADERS });
  }

  /** Sends `message` to every client; drops those that stopped reading. */
  send(message: Uint8Array): void {
    for (const client of this.#clients) {
      // Each message is one chunk: desiredSize is 1 minus the chunks waiting to be read.
      if ((client.desiredSize ?? 0) < -this.#maxQueued) {
        // An error, not a close: the queued messages are let go at once, the response ends.
        this.#clients.delete(client);
        client.error(new Error("the client stopped reading"));
        continue;
      }
      try {
        client.enqueue(message);
      } catch {
        this.#clients.delete(client);
      }
    }
  }

  /** Ends every stream. */
  close(): void {
    for (const client of this.#clients) {
      try {
        client.close();
      } catch {
        // already closed by its reader
      }
    }
    this.#clients.clear();
  }
}
