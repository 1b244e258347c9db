/**
 * Notices a silent peer (SPEC §1 "Keepalive"): after one interval without traffic from it,
 * `onQuiet` (send a keepalive); after three intervals, `onDead` (give the connection up).
 * Traffic is recorded with {@linkcode SilenceWatch.heard}, which only notes the time: the
 * one timer is moved when it fires, not on every read, so a busy connection costs a
 * `clock.now()` per read and nothing more.
 *
 * An MQTT broker closes after 1.5 × the client's interval (MQTT 3.1.1 §3.1.2.10) because
 * the client pings; here the side that notices the silence pings, and the other answers,
 * so an answer may take up to one interval more: three intervals leave room for one lost
 * round.
 *
 * @module
 */

import type { Clock, TimerId } from "./clock.ts";

/** Intervals of silence after which the peer is given up. */
export const DEAD_AFTER_INTERVALS = 3;

/** Options of {@linkcode SilenceWatch}. */
export interface SilenceWatchOptions {
  /** Times the watch. */
  clock: Clock;
  /** The keepalive interval, in milliseconds; 0 or less watches nothing. */
  intervalMs: number;
  /** One interval without traffic (again after each further interval). */
  onQuiet(): void;
  /** {@linkcode DEAD_AFTER_INTERVALS} intervals without traffic; the watch has stopped. */
  onDead(silentMs: number): void;
  /** While this says yes, silence is not the peer's fault (this side is not reading). */
  excused?(): boolean;
}

/**
 * A watch over one connection's incoming traffic.
 *
 * @example
 * ```ts
 * import { ManualClock } from "./clock.ts";
 * import { SilenceWatch } from "./silence_watch.ts";
 * import assert from "node:assert/strict";
 * const clock = new ManualClock();
 * const seen: string[] = [];
 * const watch = new SilenceWatch({
 *   clock,
 *   intervalMs: 1_000,
 *   onQuiet: () => seen.push(`quiet at ${clock.now()}`),
 *   onDead: () => seen.push(`dead at ${clock.now()}`),
 * });
 * clock.advance(3_000);
 * assert.deepEqual(seen, ["quiet at 1000", "quiet at 2000", "dead at 3000"]);
 * watch.stop();
 * ```
 */
export class SilenceWatch {
  readonly #options: SilenceWatchOptions;
  #lastHeard: number;
  #timer: TimerId | undefined;
  #stopped = false;

  /**
   * Starts watching: the peer counts as heard now.
   *
   * @param options the clock, the interval and what to do.
   */
  constructor(options: SilenceWatchOptions) {
    this.#options = options;
    this.#lastHeard = options.clock.now();
    if (options.intervalMs > 0) this.#schedule(options.intervalMs);
  }

  /** Records traffic from the peer now. */
  heard(): void {
    this.#lastHeard = this.#options.clock.now();
  }

  /** Stops watching. Safe to call more than once. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(ms: number): void {
    this.#timer = this.#options.clock.setTimeout(() => this.#check(), ms);
  }

  #check(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const { clock, intervalMs, onQuiet, onDead, excused } = this.#options;
    if (excused?.()) this.heard();
    const silent = clock.now() - this.#lastHeard;
    if (silent >= DEAD_AFTER_INTERVALS * intervalMs) {
      this.stop();
      return onDead(silent);
    }
    // The next check: the next whole interval of silence.
    const intervals = Math.floor(silent / intervalMs);
    if (intervals >= 1) onQuiet();
    if (!this.#stopped) this.#schedule((intervals + 1) * intervalMs - silent);
  }
}
