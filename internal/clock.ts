/**
 * Time as an injected dependency: every timer in iotnet (retransmission, idle timeout,
 * login deadline, block expiry, `whoelsesince`) goes through a {@linkcode Clock}, so tests
 * drive time with a {@linkcode ManualClock} instead of sleeping.
 *
 * @module
 */

/** Handle returned by {@linkcode Clock.setTimeout}. */
export type TimerId = number;

/** The three things iotnet needs from time. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerId;
  /** Cancels a timer; unknown ids are ignored. */
  clearTimeout(id: TimerId): void;
}

/** The real clock: `Date.now` and the runtime's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  // Deno's timers return numbers; the cast only hides Node's typings of the globals.
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as TimerId,
  clearTimeout: (id) => clearTimeout(id),
};

/**
 * A clock that only moves when told to, for deterministic tests.
 *
 * @example
 * ```ts
 * import { ManualClock } from "./clock.ts";
 * import assert from "node:assert/strict";
 * const clock = new ManualClock(1_000);
 * let fired = false;
 * clock.setTimeout(() => (fired = true), 50);
 * clock.advance(49);
 * assert.equal(fired, false);
 * clock.advance(1);
 * assert.equal(fired, true);
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers = new Map<TimerId, { at: number; fn: () => void }>();

  /**
   * Makes a clock that stands still until {@linkcode ManualClock.advance}.
   *
   * @param start the initial reading of {@linkcode ManualClock.now}.
   */
  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerId {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(id: TimerId): void {
    this.#timers.delete(id);
  }

  /** The number of timers not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in deadline order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let nextId: TimerId | undefined;
      let nextAt = Infinity;
      for (const [id, t] of this.#timers) {
        if (t.at <= target && t.at < nextAt) [nextId, nextAt] = [id, t.at];
      }
      if (nextId === undefined) break;
      const timer = this.#timers.get(nextId)!;
      this.#timers.delete(nextId);
      this.#now = nextAt;
      timer.fn();
    }
    this.#now = target;
  }
}
