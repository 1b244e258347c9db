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
import { SseClients, sseMessage } from "./sse_clients.ts";

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
  readonly #clients = new SseClients(MAX_LIVE_CLIENTS, MAX_QUEUED_EVENTS);
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
    const response = this.#clients.open(this.#event());
    if (response) this.#timer ??= this.#clock.setTimeout(() => this.#tick(), LIVE_FEED_INTERVAL_MS);
    return response;
  }

  /** Ends every stream and stops ticking. */
  close(): void {
    this.#clients.close();
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #event(): Uint8Array {
    return new TextEncoder().encode(sseMessage("overview", this.#take()));
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#clients.size === 0) return;
    this.#clients.send(this.#event());
    this.#timer = this.#clock.setTimeout(() => this.#tick(), LIVE_FEED_INTERVAL_MS);
  }
}
