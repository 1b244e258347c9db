/**
 * The dashboard's live feed: Server-Sent Events at `GET /events`, one `overview` event when
 * a client connects and then one each {@linkcode LIVE_FEED_INTERVAL_MS}. The
 * overview is taken once per tick for every client (never per client), on the server's
 * clock, and only while someone watches. At most {@linkcode MAX_LIVE_CLIENTS} clients at once;
 * one more gets 503.
 *
 * @module
 */

import type { Clock, TimerId } from "../../internal/mod.ts";

/** Live views open at once. */
export const MAX_LIVE_CLIENTS = 16;
/** Events queued for a client that does not read before it is dropped. */
export const MAX_QUEUED_EVENTS = 30;
/** Time between two overviews. */
export const LIVE_FEED_INTERVAL_MS = 1_000;

/** A stream of `overview` events. */
export class LiveFeed {
  readonly #clock: Clock;
  readonly #take: () => unknown;
  readonly #clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #timer: TimerId | undefined;

  /**
   * @param clock paces the ticks.
   * @param take the overview now (JSON-ready).
   */
  constructor(clock: Clock, take: () => unknown) {
    this.#clock = clock;
    this.#take = take;
  }

  /** Clients connected now. */
  get clients(): number {
    return this.#clients.size;
  }

  /** A response streaming the feed, or `undefined` when {@linkcode MAX_LIVE_CLIENTS} watch. */
  open(): Response | undefined {
    if (this.#clients.size >= MAX_LIVE_CLIENTS) return undefined;
    const first = this.#event();
    let mine: ReadableStreamDefaultController<Uint8Array> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        mine = controller;
        this.#clients.add(controller);
        controller.enqueue(first);
        this.#schedule();
      },
      cancel: () => {
        if (mine) this.#clients.delete(mine);
      },
    });
    return new Response(body, {
      headers: { "content-type": "text/event-stream", "x-accel-buffering": "no" },
    });
  }

  /** Ends every stream and stops ticking. */
  close(): void {
    for (const client of this.#clients) {
      try {
        client.close();
      } catch {
        // already closed by its reader
      }
    }
    this.#clients.clear();
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #event(): Uint8Array {
    return new TextEncoder().encode(`event: overview\ndata: ${JSON.stringify(this.#take())}\n\n`);
  }

  #schedule(): void {
    this.#timer ??= this.#clock.setTimeout(() => this.#tick(), LIVE_FEED_INTERVAL_MS);
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#clients.size === 0) return;
    const event = this.#event();
    for (const client of this.#clients) {
      // A client that stopped reading is dropped rather than queued for without end.
      if ((client.desiredSize ?? 0) < -MAX_QUEUED_EVENTS) {
        this.#clients.delete(client);
        try {
          client.close();
        } catch {
          // already gone
        }
        continue;
      }
      try {
        client.enqueue(event);
      } catch {
        this.#clients.delete(client);
      }
    }
    this.#schedule();
  }
}
