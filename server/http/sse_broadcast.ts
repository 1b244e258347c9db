/**
 * One Server-Sent Events stream and its clients: at most a fixed number at once, each sent
 * the same bytes (made once for all of them), on a timer that runs only while someone
 * watches; a client that stops reading is dropped once it has more than a fixed number of
 * messages queued, so a stalled browser never makes the server hold memory without end.
 * Closing ends every stream (the HTTP server's shutdown waits for open responses).
 *
 * @module
 */

import type { Clock, TimerId } from "../../internal/mod.ts";

/** `text/event-stream` headers of a stream's response. */
const SSE_HEADERS = { "content-type": "text/event-stream", "x-accel-buffering": "no" } as const;

/**
 * One SSE message: `event` and its JSON `data` (one line: JSON has no raw newlines), with
 * an `id` when given.
 *
 * @example
 * ```ts
 * import { sseMessage } from "./sse_broadcast.ts";
 * import assert from "node:assert/strict";
 * assert.equal(sseMessage("tick", { n: 1 }, 7), 'id: 7\nevent: tick\ndata: {"n":1}\n\n');
 * ```
 */
export function sseMessage(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${
    JSON.stringify(data)
  }\n\n`;
}

/** Options of {@linkcode SseBroadcast}. */
export interface SseBroadcastOptions {
  /** Paces the messages. */
  clock: Clock;
  /** Time between two calls of `next`, in ms. */
  intervalMs: number;
  /** Streams open at once. */
  maxClients: number;
  /** Messages a client may leave unread before it is dropped. */
  maxQueued: number;
  /** The message for every client now, or `undefined` for none this time. */
  next(): Uint8Array | undefined;
}

/** The streams open to one kind of SSE client, and their timer. */
export class SseBroadcast {
  readonly #options: SseBroadcastOptions;
  readonly #clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #timer: TimerId | undefined;

  /** @param options the pace, the limits and where messages come from. */
  constructor(options: SseBroadcastOptions) {
    this.#options = options;
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
    if (this.#clients.size >= this.#options.maxClients) return undefined;
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
    this.#schedule();
    return new Response(body, { headers: SSE_HEADERS });
  }

  /** Ends every stream and stops the timer. */
  close(): void {
    for (const client of this.#clients) {
      try {
        client.close();
      } catch {
        // already closed by its reader
      }
    }
    this.#clients.clear();
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    this.#timer ??= this.#options.clock.setTimeout(() => this.#tick(), this.#options.intervalMs);
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#clients.size === 0) return;
    const message = this.#options.next();
    if (message) this.#send(message);
    this.#schedule();
  }

  /** Sends `message` to every client; drops those that stopped reading. */
  #send(message: Uint8Array): void {
    for (const client of this.#clients) {
      // Each message is one chunk: desiredSize is 1 minus the chunks waiting to be read.
      if ((client.desiredSize ?? 0) < -this.#options.maxQueued) {
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
}
