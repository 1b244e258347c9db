/**
 * A histogram the hot path feeds with one call: a linear scan over a few bounds and two
 * additions, no allocation.
 *
 * @module
 */

import type { HistogramSample, Labels } from "./prometheus_text.ts";

/** Counts observations per upper bound. */
export class Histogram {
  readonly #bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last is over every bound. */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  /**
   * @param bounds upper bounds, ascending.
   * @throws {RangeError} when the bounds are not ascending.
   */
  constructor(bounds: readonly number[]) {
    if (bounds.some((b, i) => i > 0 && b <= bounds[i - 1]!)) {
      throw new RangeError(`histogram bounds must be ascending, not ${bounds.join(", ")}`);
    }
    this.#bounds = bounds;
    this.#counts = new Float64Array(bounds.length + 1);
  }

  /** Records one observation. */
  observe(value: number): void {
    let i = 0;
    while (i < this.#bounds.length && value > this.#bounds[i]!) i++;
    this.#counts[i]!++;
    this.#sum += value;
    this.#count++;
  }

  /** The histogram as the exposition writer wants it. */
  sample(labels?: Labels): HistogramSample {
    const cumulative: number[] = [];
    let running = 0;
    for (let i = 0; i < this.#bounds.length; i++) cumulative.push(running += this.#counts[i]!);
    return {
      ...(labels && { labels }),
      bounds: this.#bounds,
      cumulative,
      count: this.#count,
      sum: this.#sum,
    };
  }
}
