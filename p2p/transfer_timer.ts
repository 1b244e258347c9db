/**
 * One transfer's timer, re-armed lazily: a core's next deadline moves with nearly every
 * datagram, so the timer is only moved earlier, never later; when it fires, the core runs
 * its real deadlines and the transfer arms it again.
 *
 * @module
 */

import type { Clock, TimerId } from "../internal/mod.ts";

/** A lazily re-armed timer that calls one callback. */
export class TransferTimer {
  readonly #clock: Clock;
  readonly #fire: () => void;
  #timer: TimerId | undefined;
  #timerAt = Infinity;
  /** The timer callback (made once, not per arming). */
  readonly #onTimeout = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#fire();
  };

  /**
   * @param clock the time source.
   * @param fire called when a deadline is reached.
   */
  constructor(clock: Clock, fire: () => void) {
    this.#clock = clock;
    this.#fire = fire;
  }

  /**
   * Makes sure the callback runs no later than `at`.
   *
   * @param at the deadline (clock time), or `undefined` for none: the timer is cleared.
   */
  arm(at: number | undefined): void {
    if (at === undefined) return this.clear();
    // Lazy re-arming: a timer already due no later than `at` stays; when it fires, the
    // core runs its real deadlines and the timer is re-armed. Re-arming on every
    // datagram would cost a clearTimeout/setTimeout pair per packet.
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    this.clear();
    const now = this.#clock.now();
    this.#timerAt = at;
    // At least 1 ms: a deadline at `now` after a full service must not spin.
    this.#timer = this.#clock.setTimeout(this.#onTimeout, Math.max(1, at - now));
  }

  /** Cancels the pending callback, if any. */
  clear(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }
}
