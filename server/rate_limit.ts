/**
 * A rate per key (an address): a token bucket per key that holds `perMinute` tokens and
 * refills at `perMinute` a minute, so a key may spend its whole allowance at once and then
 * one every `60 / perMinute` seconds. Time comes from the injected clock.
 *
 * At most {@linkcode MAX_RATE_LIMITED_KEYS} keys are remembered; past that the one
 * untouched longest is forgotten (after a minute untouched a bucket is full anyway).
 *
 * @module
 */

import type { Clock } from "../internal/mod.ts";

/** Keys a {@linkcode RateLimit} remembers at most. */
export const MAX_RATE_LIMITED_KEYS = 10_000;

/** Milliseconds in the minute a rate is counted over. */
const MINUTE_MS = 60_000;

/**
 * At most `perMinute` events a minute per key, in bursts of up to `perMinute`.
 *
 * @example
 * ```ts
 * import { ManualClock } from "../internal/mod.ts";
 * import { RateLimit } from "./rate_limit.ts";
 * import assert from "node:assert/strict";
 * const clock = new ManualClock();
 * const limit = new RateLimit(2, clock);
 * assert.equal(limit.take("10.0.0.1"), 0);
 * assert.equal(limit.take("10.0.0.1"), 0);
 * assert.equal(limit.take("10.0.0.1"), 30_000);
 * clock.advance(30_000);
 * assert.equal(limit.take("10.0.0.1"), 0);
 * ```
 */
export class RateLimit {
  /** Events a minute allowed per key. */
  readonly perMinute: number;
  readonly #clock: Clock;
  readonly #maxKeys: number;
  /** Key → tokens left at time `at`; the least recently used first. */
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  /**
   * @param perMinute events a minute per key, at least 1.
   * @param clock time source.
   * @param maxKeys keys remembered at most.
   * @throws {RangeError} for a rate below 1.
   */
  constructor(perMinute: number, clock: Clock, maxKeys = MAX_RATE_LIMITED_KEYS) {
    if (!(perMinute >= 1)) {
      throw new RangeError(`a rate needs at least 1 a minute, not ${perMinute}`);
    }
    this.perMinute = perMinute;
    this.#clock = clock;
    this.#maxKeys = maxKeys;
  }

  /**
   * Counts one event for `key`, if its allowance has room.
   *
   * @returns 0 when the event is allowed (and counted); otherwise the milliseconds until
   *   it would be (nothing is counted).
   */
  take(key: string): number {
    const now = this.#clock.now();
    const perMs = this.perMinute / MINUTE_MS;
    const bucket = this.#buckets.get(key);
    const tokens = bucket
      ? Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * perMs)
      : this.perMinute;
    if (tokens < 1) return Math.ceil((1 - tokens) / perMs);
    this.#buckets.delete(key);
    this.#buckets.set(key, { tokens: tokens - 1, at: now });
    if (this.#buckets.size > this.#maxKeys) {
      this.#buckets.delete(this.#buckets.keys().next().value!);
    }
    return 0;
  }
}
