/**
 * Event-loop lag: a timer asks to run every {@linkcode LAG_SAMPLE_MS} and records how late
 * it ran. This measures the real event loop, so it runs on real time (`setTimeout`,
 * `performance.now`), not on the server's injected clock, like the store's group commit.
 *
 * @module
 */

import { Histogram } from "./histogram.ts";

/** How often the lag is sampled. */
export const LAG_SAMPLE_MS = 500;

/** Bounds (seconds) of the lag histogram: 1 ms to 1 s. */
export const LAG_BUCKETS_SECONDS: readonly number[] = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
];

/** Samples the event loop's lag until disposed of. */
export class EventLoopLag implements Disposable {
  readonly histogram = new Histogram(LAG_BUCKETS_SECONDS);
  /** The last lag seen, seconds. */
  last = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    this.#schedule();
  }

  #schedule(): void {
    const due = performance.now() + LAG_SAMPLE_MS;
    this.#timer = setTimeout(() => {
      this.last = Math.max(0, performance.now() - due) / 1000;
      this.histogram.observe(this.last);
      this.#schedule();
    }, LAG_SAMPLE_MS);
  }

  [Symbol.dispose](): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
