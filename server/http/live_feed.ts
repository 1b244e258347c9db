/**
 * The dashboard's live feed: Server-Sent Events at `GET /events`, one `overview` event when
 * a client connects and then one each {@linkcode LIVE_FEED_INTERVAL_MS}. The overview is
 * taken once per tick for every client (one that joins gets the last, when younger than a
 * tick), on the server's clock, and only while someone watches. At most
 * {@linkcode MAX_LIVE_CLIENTS} clients at once; one more gets 503.
 *
 * @module
 */

import type { Clock } from "../../internal/mod.ts";
import { SseBroadcast, sseMessage } from "./sse_broadcast.ts";

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
  readonly #broadcast: SseBroadcast;
  /** The last overview sent, encoded, and when it was taken: a client that joins reuses it. */
  #last: { at: number; event: Uint8Array } | undefined;

  /**
   * @param clock paces the ticks.
   * @param take the overview now (JSON-ready).
   */
  constructor(clock: Clock, take: () => unknown) {
    this.#clock = clock;
    this.#take = take;
    this.#broadcast = new SseBroadcast({
      clock,
      intervalMs: LIVE_FEED_INTERVAL_MS,
      maxClients: MAX_LIVE_CLIENTS,
      maxQueued: MAX_QUEUED_EVENTS,
      next: () => this.#event(),
    });
  }

  /** Clients connected now. */
  get clients(): number {
    return this.#broadcast.size;
  }

  /** A response streaming the feed, or `undefined` when {@linkcode MAX_LIVE_CLIENTS} watch. */
  open(): Response | undefined {
    // A burst of clients joining takes one overview, not one each.
    const last = this.#last;
    const fresh = last && this.#clock.now() - last.at < LIVE_FEED_INTERVAL_MS;
    return this.#broadcast.open(fresh ? last.event : this.#event());
  }

  /** Ends every stream and stops ticking. */
  close(): void {
    this.#broadcast.close();
  }

  #event(): Uint8Array {
    const event = new TextEncoder().encode(sseMessage("overview", this.#take()));
    this.#last = { at: this.#clock.now(), event };
    return event;
  }
}
