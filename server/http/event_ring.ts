/**
 * A bounded ring of the latest events, each with its time and a sequence number. Adding is
 * what the device path does: two slot writes and an increment, no allocation, nothing that
 * waits; when the ring is full the oldest entry is overwritten. Readers (the event feed)
 * ask for what came after the last sequence number they saw, and learn how many entries
 * they missed because the ring had moved past them.
 *
 * @module
 */

/** Events the server keeps for its event feed. */
export const MAX_FEED_EVENTS = 1_000;

/** One entry: its sequence number (1, 2, …), its time (ms epoch) and the event. */
export interface RingEntry<T> {
  seq: number;
  at: number;
  item: T;
}

/** What came after a sequence number. */
export interface RingRead<T> {
  /** Oldest first. */
  entries: RingEntry<T>[];
  /** Entries after the sequence number asked for that the ring no longer holds. */
  missed: number;
}

/** The latest `capacity` events. */
export class EventRing<T> {
  readonly #items: (T | undefined)[];
  readonly #at: Float64Array;
  /** Sequence number of the newest entry; 0 before the first. */
  #last = 0;

  /**
   * @param capacity entries kept.
   * @throws {RangeError} unless `capacity` is a positive integer.
   */
  constructor(capacity: number = MAX_FEED_EVENTS) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`the ring's capacity must be a positive integer, not ${capacity}`);
    }
    this.#items = new Array(capacity);
    this.#at = new Float64Array(capacity);
  }

  /** Sequence number of the newest entry; 0 while empty. */
  get last(): number {
    return this.#last;
  }

  /** Adds `item`, which happened at `at`; overwrites the oldest entry when full. */
  add(at: number, item: T): void {
    const slot = this.#last % this.#items.length;
    this.#items[slot] = item;
    this.#at[slot] = at;
    this.#last++;
  }

  /**
   * The entries after sequence number `seq` up to `upTo` (default the newest), oldest first.
   *
   * @example
   * ```ts
   * import { EventRing } from "./event_ring.ts";
   * import assert from "node:assert/strict";
   * const ring = new EventRing<string>(2);
   * ring.add(10, "a");
   * ring.add(20, "b");
   * ring.add(30, "c");
   * const read = ring.after(0);
   * assert.deepEqual(read.entries.map((e) => e.item), ["b", "c"]);
   * assert.equal(read.missed, 1);
   * ```
   */
  after(seq: number, upTo: number = this.#last): RingRead<T> {
    const end = Math.min(upTo, this.#last);
    const oldest = Math.max(1, this.#last - this.#items.length + 1);
    const first = Math.max(seq + 1, oldest);
    const entries: RingEntry<T>[] = [];
    for (let s = first; s <= end; s++) {
      const slot = (s - 1) % this.#items.length;
      entries.push({ seq: s, at: this.#at[slot]!, item: this.#items[slot]! });
    }
    return { entries, missed: Math.max(0, Math.min(first, end + 1) - seq - 1) };
  }
}
