/**
 * A sum over the last hour that slides a minute at a time: {@linkcode HOUR_WINDOW_MINUTES}
 * one-minute buckets in a ring, on the time the caller gives (the server's clock). Adding
 * is a division, a comparison and an increment on two fixed arrays (the device path calls
 * it on every upload); reading sums the buckets of the last hour.
 *
 * The last hour is the current minute (under way) and the
 * {@linkcode HOUR_WINDOW_MINUTES} − 1 before it, so it spans 59 to 60 minutes: what was
 * added a full hour ago has just left.
 *
 * @module
 */

/** Buckets of a window, one a minute. */
export const HOUR_WINDOW_MINUTES = 60;
/** One bucket's span. */
export const HOUR_WINDOW_BUCKET_MS = 60_000;

/** A sum over the last hour. */
export class HourWindow {
  /** The minute (ms epoch / {@linkcode HOUR_WINDOW_BUCKET_MS}) each bucket counts. */
  readonly #minutes = new Float64Array(HOUR_WINDOW_MINUTES).fill(-1);
  readonly #sums = new Float64Array(HOUR_WINDOW_MINUTES);

  /**
   * Adds `amount` at time `now`.
   *
   * @param now ms epoch, the server's clock.
   * @param amount what to add (default 1).
   */
  add(now: number, amount = 1): void {
    const minute = Math.floor(now / HOUR_WINDOW_BUCKET_MS);
    const slot = minute % HOUR_WINDOW_MINUTES;
    if (this.#minutes[slot] !== minute) {
      // The bucket last counted a minute an hour or more ago: it starts again.
      this.#minutes[slot] = minute;
      this.#sums[slot] = 0;
    }
    this.#sums[slot]! += amount;
  }

  /**
   * The sum of the last hour at time `now`.
   *
   * @param now ms epoch, the server's clock.
   * @example
   * ```ts
   * import { HourWindow } from "./hour_window.ts";
   * import assert from "node:assert/strict";
   * const window = new HourWindow();
   * window.add(0, 2);
   * window.add(30 * 60_000, 3);
   * assert.equal(window.total(59 * 60_000), 5);
   * assert.equal(window.total(60 * 60_000), 3); // the first minute has left
   * ```
   */
  total(now: number): number {
    const minute = Math.floor(now / HOUR_WINDOW_BUCKET_MS);
    let total = 0;
    for (let slot = 0; slot < HOUR_WINDOW_MINUTES; slot++) {
      const age = minute - this.#minutes[slot]!;
      if (age >= 0 && age < HOUR_WINDOW_MINUTES) total += this.#sums[slot]!;
    }
    return total;
  }
}
