/**
 * The dashboard's event feed: Server-Sent Events at `GET /feed/events` with the server's
 * events (logins and logouts, failed logins, lockouts, new accounts, uploads, deletes,
 * refused connections) as they are recorded in the {@linkcode EventRing}. The device path
 * only adds to the ring; the feed reads it once each {@linkcode FEED_INTERVAL_MS} on the
 * server's clock, while someone watches, and sends what is new to every client as one
 * message encoded once. A new client first gets a `backlog` of the latest
 * {@linkcode FEED_BACKLOG} events, then `events` messages. At most
 * {@linkcode MAX_FEED_CLIENTS} at once; a client that stops reading is dropped after
 * {@linkcode MAX_QUEUED_FEED_MESSAGES} unread messages.
 *
 * @module
 */

import { type Clock, visible } from "../../internal/mod.ts";
import { describeServerEvent, type ServerEvent } from "../server_event.ts";
import type { EventRing, RingEntry } from "./event_ring.ts";
import { SseBroadcast, sseMessage } from "./sse_broadcast.ts";

/** Event feeds open at once. */
export const MAX_FEED_CLIENTS = 8;
/** Messages queued for a client that does not read before it is dropped. */
export const MAX_QUEUED_FEED_MESSAGES = 30;
/** Time between two reads of the ring. */
export const FEED_INTERVAL_MS = 1_000;
/** Latest events a client gets when it connects. */
export const FEED_BACKLOG = 100;
/** Longest the feed stays silent: a comment line then tells a dead connection from a live one. */
export const FEED_HEARTBEAT_MS = 15_000;

/** An event as the feed sends it: its fields, its number, its time, and its log sentence. */
export type FeedEntry = ServerEvent & {
  seq: number;
  /** ISO 8601. */
  at: string;
  /** The event as the server's log says it, control characters shown as escapes. */
  text: string;
};

/** One message of the feed: entries oldest first, and how many were lost before them. */
export interface FeedMessage {
  events: FeedEntry[];
  /** Events that came and went from the ring between two reads (a burst past its size). */
  missed: number;
}

/**
 * An entry of the ring as the feed sends it.
 *
 * @example
 * ```ts
 * import { feedEntry } from "./event_feed.ts";
 * import assert from "node:assert/strict";
 * const entry = feedEntry({
 *   seq: 3,
 *   at: 0,
 *   item: { kind: "login_failed", name: "\u202eevil", ip: "127.0.0.1", result: "bad_credentials" },
 * });
 * assert.equal(entry.text, 'failed login as "\\u202eevil" from 127.0.0.1 (bad_credentials)');
 * assert.equal(entry.at, "1970-01-01T00:00:00.000Z");
 * ```
 */
export function feedEntry(entry: RingEntry<ServerEvent>): FeedEntry {
  return {
    ...entry.item,
    seq: entry.seq,
    at: new Date(entry.at).toISOString(),
    text: visible(describeServerEvent(entry.item)),
  };
}

/** The SSE stream of the server's events. */
export class EventFeed {
  readonly #clock: Clock;
  readonly #ring: EventRing<ServerEvent>;
  readonly #broadcast: SseBroadcast;
  readonly #encoder = new TextEncoder();
  /** The newest event sent to the clients (or in the backlog of the first). */
  #sent = 0;
  /** When the clients were last sent something. */
  #lastSentAt = 0;

  /**
   * @param clock paces the reads.
   * @param ring where the server records its events.
   */
  constructor(clock: Clock, ring: EventRing<ServerEvent>) {
    this.#clock = clock;
    this.#ring = ring;
    this.#broadcast = new SseBroadcast({
      clock,
      intervalMs: FEED_INTERVAL_MS,
      maxClients: MAX_FEED_CLIENTS,
      maxQueued: MAX_QUEUED_FEED_MESSAGES,
      next: () => this.#next(),
    });
  }

  /** Clients connected now. */
  get clients(): number {
    return this.#broadcast.size;
  }

  /** A response streaming the feed, or `undefined` when {@linkcode MAX_FEED_CLIENTS} watch. */
  open(): Response | undefined {
    // With nobody watching, nothing was sent: the backlog takes everything up to now. With
    // others watching, it stops where they are, and the next read sends the rest to all.
    if (this.#broadcast.size === 0) {
      this.#sent = this.#ring.last;
      this.#lastSentAt = this.#clock.now();
    }
    const { entries } = this.#ring.after(Math.max(0, this.#sent - FEED_BACKLOG), this.#sent);
    const backlog: FeedMessage = { events: entries.map(feedEntry), missed: 0 };
    return this.#broadcast.open(this.#encoder.encode(sseMessage("backlog", backlog, this.#sent)));
  }

  /** Ends every stream and stops reading the ring. */
  close(): void {
    this.#broadcast.close();
  }

  /** What is new since the last read, a comment after a long silence, or nothing. */
  #next(): Uint8Array | undefined {
    const { entries, missed } = this.#ring.after(this.#sent);
    const now = this.#clock.now();
    if (entries.length > 0 || missed > 0) {
      this.#sent = this.#ring.last;
      this.#lastSentAt = now;
      const message: FeedMessage = { events: entries.map(feedEntry), missed };
      return this.#encoder.encode(sseMessage("events", message, this.#sent));
    }
    if (now - this.#lastSentAt < FEED_HEARTBEAT_MS) return undefined;
    this.#lastSentAt = now;
    return this.#encoder.encode(":\n\n");
  }
}
