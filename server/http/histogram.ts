/**
 * A histogram with fixed bucket bounds: observing is a short scan and one increment, so the
 * device path can afford it on every command.
 *
 * @module
 */

import type { HistogramSample, Labels } from "./prometheus_text.ts";

/** Bounds (seconds) for the server's durations: 0.5 ms to 10 s. */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.0005,
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
  2.5,
  10,
];

/** Observations counted per bucket, with their sum. */
export class Histogram {
  readonly bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;

  /** @param bounds upper bounds, ascending. */
  constructor(bounds: readonly number[] = DURATION_BUCKETS_SECONDS) {
    this.bounds = bounds;
    this.#counts = new Array(bounds.length + 1).fill(0);
  }

  /** Counts one observation. */
  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.#counts[i]!++;
    this.#sum += value;
  }

  /** How many observations there were. */
  get count(): number {
    return this.#counts.reduce((a, b) => a + b, 0);
  }

  /** The histogram as a sample of the text format (a copy). */
  sample(labels?: Labels): HistogramSample {
    return {
      ...(labels && { labels }),
      bounds: this.bounds,
      counts: [...this.#counts],
      sum: this.#sum,
    };
  }
}
