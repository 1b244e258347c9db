/**
 * Event-loop lag: how late a timer fires. A timer is set every
 * {@linkcode EVENT_LOOP_PROBE_MS}; when it runs, the time past its due time is how long
 * the event loop was busy with something else (a long synchronous task, a flood of
 * callbacks) while it was due. Every delay goes into a histogram (`/metrics`) and into the
 * worst of each of the last {@linkcode LAG_WINDOW_SECONDS} seconds (the overview).
 *
 * The probe runs on real time, not the server's injected clock: lag is a property of the
 * runtime, and a clock that moves only when a test says so has none to show. It is given
 * its timers and its monotonic time source, so a test can still drive it by hand.
 *
 * @module
 */

import type { Clock, TimerId } from "../../internal/mod.ts";
import type { Histogram } from "./histogram.ts";

/** Time between two probes, in ms (docs/DECISIONS.md, "Event-loop lag"). */
export const EVENT_LOOP_PROBE_MS = 20;
/** Seconds the overview's "worst lag" looks back. */
export const LAG_WINDOW_SECONDS = 10;

/** Timers and a monotonic time in ms: the runtime's, or a test's. */
export interface ProbeTime {
  setTimeout: Clock["setTimeout"];
  clearTimeout: Clock["clearTimeout"];
  /** Milliseconds on a clock that never goes back (`performance.now`). */
  now(): number;
}

/** The runtime's timers and `performance.now`. */
export const realProbeTime: ProbeTime = {
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as TimerId,
  clearTimeout: (id) => clearTimeout(id as unknown as number),
  now: () => performance.now(),
};

/** Options of {@linkcode EventLoopLag}. */
export interface EventLoopLagOptions {
  /** The timers and time; default the runtime's ({@linkcode realProbeTime}). */
  time?: ProbeTime;
  /** Time between two probes, in ms; default {@linkcode EVENT_LOOP_PROBE_MS}. */
  intervalMs?: number;
}

/** A probe of the event loop's lag. */
export class EventLoopLag {
  /** Every delay, in seconds. */
  readonly histogram: Histogram;
  readonly #time: ProbeTime;
  readonly #intervalMs: number;
  /** The worst delay of each of the last seconds, by second modulo the window. */
  readonly #worst = new Float64Array(LAG_WINDOW_SECONDS);
  readonly #second = new Float64Array(LAG_WINDOW_SECONDS).fill(-1);
  #timer: TimerId | undefined;
  #due = 0;

  /**
   * @param histogram receives every delay, in seconds.
   * @param options the timers and time, the interval.
   */
  constructor(histogram: Histogram, options: EventLoopLagOptions = {}) {
    this.histogram = histogram;
    this.#time = options.time ?? realProbeTime;
    this.#intervalMs = options.intervalMs ?? EVENT_LOOP_PROBE_MS;
  }

  /** Starts probing (again after {@linkcode stop}); probing already, does nothing. */
  start(): void {
    if (this.#timer === undefined) this.#arm();
  }

  /**
   * The worst delay of the last {@linkcode LAG_WINDOW_SECONDS} seconds, in ms (0 when the
   * loop was never late).
   */
  worstMs(): number {
    const second = Math.floor(this.#time.now() / 1000);
    let worst = 0;
    for (let i = 0; i < LAG_WINDOW_SECONDS; i++) {
      if (this.#second[i]! > second - LAG_WINDOW_SECONDS) worst = Math.max(worst, this.#worst[i]!);
    }
    return worst;
  }

  /** Stops probing. */
  stop(): void {
    if (this.#timer !== undefined) this.#time.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    this.#due = this.#time.now() + this.#intervalMs;
    this.#timer = this.#time.setTimeout(() => this.#fired(), this.#intervalMs);
  }

  #fired(): void {
    const now = this.#time.now();
    const lagMs = Math.max(0, now - this.#due);
    this.histogram.observe(lagMs / 1000);
    const second = Math.floor(now / 1000);
    const slot = second % LAG_WINDOW_SECONDS;
    if (this.#second[slot] !== second) {
      this.#second[slot] = second;
      this.#worst[slot] = 0;
    }
    if (lagMs > this.#worst[slot]!) this.#worst[slot] = lagMs;
    this.#arm();
  }
}
