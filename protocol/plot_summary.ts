/**
 * A file's plot summary: its samples in order, cut into at most
 * {@linkcode MAX_PLOT_BUCKETS} buckets of `width` consecutive samples, each keeping its
 * smallest and largest sample, so a one-sample spike survives whatever the file's size
 * (downsampling by averages or LTTB can lose it). It is built in the upload's one pass
 * over the bytes (`SampleAggregator`), in memory bounded by the bucket count, and stored
 * with the file's record: no page ever reads a data file.
 *
 * Building it: each sample goes into the last bucket until that holds `width` samples;
 * when all buckets are taken, neighbouring pairs merge (min of mins, max of maxes) and
 * `width` doubles. Bucket `i` covers samples `i * width` up to `(i + 1) * width - 1`;
 * the last bucket may hold fewer.
 *
 * @module
 */

/** Most buckets a plot summary holds (even, so pairs merge cleanly). */
export const MAX_PLOT_BUCKETS = 2048;

/** A finished plot summary, as stored and as the dashboard's API serves it. */
export interface FilePlot {
  /** Samples per bucket (a power of two); the last bucket may hold fewer. */
  width: number;
  /** Samples in the file. */
  count: number;
  /** Smallest sample of each bucket. */
  min: number[];
  /** Largest sample of each bucket. */
  max: number[];
}

/**
 * Builds a {@linkcode FilePlot} one sample at a time.
 *
 * @example
 * ```ts
 * import { PlotSummary } from "./plot_summary.ts";
 * import assert from "node:assert/strict";
 * const plot = new PlotSummary(4);
 * for (const v of [1, 2, 3, 90, 5, 6]) plot.add(v);
 * assert.deepEqual(plot.finish(), { width: 2, count: 6, min: [1, 3, 5], max: [2, 90, 6] });
 * ```
 */
export class PlotSummary {
  readonly #capacity: number;
  readonly #min: Float64Array;
  readonly #max: Float64Array;
  #buckets = 0;
  #width = 1;
  /** Samples in the last bucket; starts "full" so the first sample opens a bucket. */
  #filled = 1;
  #count = 0;

  /**
   * @param capacity most buckets; an even number, default {@linkcode MAX_PLOT_BUCKETS}.
   * @throws {RangeError} when `capacity` is not an even integer of at least 2.
   */
  constructor(capacity: number = MAX_PLOT_BUCKETS) {
    if (!Number.isInteger(capacity) || capacity < 2 || capacity % 2 !== 0) {
      throw new RangeError(
        `a plot summary's capacity must be an even integer >= 2, not ${capacity}`,
      );
    }
    this.#capacity = capacity;
    this.#min = new Float64Array(capacity);
    this.#max = new Float64Array(capacity);
  }

  /** Adds the next sample. */
  add(sample: number): void {
    this.#count++;
    if (this.#filled === this.#width) {
      if (this.#buckets === this.#capacity) this.#mergePairs();
      const b = this.#buckets++;
      this.#min[b] = sample;
      this.#max[b] = sample;
      this.#filled = 1;
      return;
    }
    const b = this.#buckets - 1;
    if (sample < this.#min[b]!) this.#min[b] = sample;
    if (sample > this.#max[b]!) this.#max[b] = sample;
    this.#filled++;
  }

  /** The summary of the samples added so far. */
  finish(): FilePlot {
    return {
      width: this.#width,
      count: this.#count,
      min: Array.from(this.#min.subarray(0, this.#buckets)),
      max: Array.from(this.#max.subarray(0, this.#buckets)),
    };
  }

  /** Every bucket is full and taken: merge neighbours, doubling the width. */
  #mergePairs(): void {
    const min = this.#min;
    const max = this.#max;
    const half = this.#capacity / 2;
    for (let i = 0; i < half; i++) {
      min[i] = Math.min(min[2 * i]!, min[2 * i + 1]!);
      max[i] = Math.max(max[2 * i]!, max[2 * i + 1]!);
    }
    this.#buckets = half;
    this.#width *= 2;
    this.#filled = this.#width; // the merged last bucket is full
  }
}

/**
 * Checks that `value` is a well-formed {@linkcode FilePlot} (for what a store reads back).
 *
 * @throws {TypeError} naming what is wrong.
 */
export function checkFilePlot(value: unknown): FilePlot {
  const plot = value as Partial<FilePlot> | null;
  if (
    typeof plot !== "object" || plot === null || !Number.isInteger(plot.width) ||
    !Number.isInteger(plot.count) || !Array.isArray(plot.min) || !Array.isArray(plot.max) ||
    plot.min.length !== plot.max.length || plot.min.length > MAX_PLOT_BUCKETS
  ) {
    throw new TypeError(
      "a stored plot summary is malformed: expected {width, count, min[], max[]}",
    );
  }
  return plot as FilePlot;
}
