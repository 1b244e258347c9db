/**
 * Data files hold one integer sample per line. This module validates such a file while
 * it streams past and keeps the four aggregates SCS answers from (count, exact sum, min,
 * max), in one pass, so a file of any size is checked in bounded memory.
 *
 * How it is fast (an upload's server CPU is mostly this loop; docs/DECISIONS.md, "UED
 * speed"): a line that ends inside the chunk is read whole, its digits in a loop that needs
 * no bound check (the chunk's last newline stops it at the latest) and its sign without a
 * branch; anything else — a line cut by the chunk's end, and every bad line — goes byte by
 * byte through a small state machine that also names the problem.
 *
 * Accepted: an optional `-`, then 1..{@linkcode MAX_SAMPLE_DIGITS} decimal digits, then
 * `\n` or `\r\n`; the last line may lack its newline. Anything else (blank lines, spaces,
 * `+`, decimals) is an {@linkcode InvalidSamplesError} naming the line.
 *
 * @module
 */

import { MAX_SAMPLE_DIGITS } from "./limits.ts";
import type { PlotSummary } from "./plot_summary.ts";

/** What SCS needs of a file, computed while it was uploaded. */
export interface SampleAggregates {
  /** Number of samples. */
  count: number;
  /** Exact sum of all samples. */
  sum: bigint;
  /** Smallest sample. */
  min: number;
  /** Largest sample. */
  max: number;
}

/** Content that is not one integer per line. */
export class InvalidSamplesError extends Error {
  /** The class name, for logs and stack traces. */
  override name = "InvalidSamplesError";
  /** 1-based line where the problem is. */
  readonly line: number;

  /**
   * Makes the error.
   *
   * @param line 1-based line where the problem is.
   * @param problem what is wrong with it, e.g. `is not an integer`.
   */
  constructor(line: number, problem: string) {
    super(`line ${line} ${problem}; a data file holds one integer per line`);
    this.line = line;
  }
}

/** Where partial sums are folded into the bigint: far from 2^53 even after one more sample. */
const FOLD_LIMIT = 2 ** 52;
const NEWLINE = 10;
const CARRIAGE_RETURN = 13;
const MINUS = 45;
const ZERO = 48;

/**
 * Incremental validator and aggregator of a data file.
 *
 * @example
 * ```ts
 * import { SampleAggregator } from "./samples.ts";
 * import assert from "node:assert/strict";
 * const agg = new SampleAggregator();
 * agg.push(new TextEncoder().encode("3\n-1\n1"));
 * agg.push(new TextEncoder().encode("0\n"));
 * assert.deepEqual(agg.finish(), { count: 3, sum: 12n, min: -1, max: 10 });
 * ```
 */
export class SampleAggregator {
  /** Told every sample in order, in the same pass (the file's plot summary), if given. */
  readonly #plot: PlotSummary | undefined;
  #count = 0;
  #sum = 0n;
  /** Samples not yet folded into `#sum`, summed exactly in a float64. */
  #partial = 0;
  #min = Infinity;
  #max = -Infinity;
  // The line being read byte by byte, and the sample of the last one it finished.
  #sample = 0;
  #value = 0;
  #digits = 0;
  #negative = false;
  #carriageReturn = false;

  /**
   * Starts at the beginning of a file.
   *
   * @param plot a plot summary that is given every sample, in order, as it is read.
   */
  constructor(plot?: PlotSummary) {
    this.#plot = plot;
  }

  /**
   * Consumes the next bytes of the file.
   *
   * @throws {InvalidSamplesError} at the first byte that breaks the format.
   */
  push(chunk: Uint8Array): void {
    const end = chunk.length;
    const last = chunk.lastIndexOf(NEWLINE);
    let midLine = this.#digits > 0 || this.#negative || this.#carriageReturn;
    let partial = this.#partial;
    let count = this.#count;
    let min = this.#min;
    let max = this.#max;
    const plot = this.#plot;
    let i = 0;
    while (i < end) {
      let sample = 0;
      let next = -1;
      if (i <= last && !midLine) {
        // A line that ends in this chunk, read whole: a newline ends the digits at the
        // latest, and a line that is not plain digits then a newline is left to the loop
        // below.
        const minus = chunk[i] === MINUS ? 1 : 0;
        const first = i + minus;
        let j = first;
        let value = 0;
        let digit = 0;
        while ((digit = chunk[j]! - ZERO) >>> 0 <= 9) {
          value = value * 10 + digit;
          j++;
        }
        const after = j + (chunk[j] === CARRIAGE_RETURN ? 2 : 1);
        const digits = j - first;
        if (digits > 0 && digits <= MAX_SAMPLE_DIGITS && chunk[after - 1] === NEWLINE) {
          sample = value * (1 - 2 * minus) + 0; // + 0: -0 becomes 0
          next = after;
        }
      }
      if (next < 0) {
        // The end of the chunk, or a line the loop above did not take.
        next = this.#readSlowly(chunk, i, count);
        midLine = this.#digits > 0 || this.#negative || this.#carriageReturn;
        if (midLine) {
          i = next; // the chunk's end
          continue;
        }
        sample = this.#sample;
      }
      i = next;
      partial += sample;
      if (partial > FOLD_LIMIT || partial < -FOLD_LIMIT) {
        this.#sum += BigInt(partial);
        partial = 0;
      }
      if (sample < min) min = sample;
      if (sample > max) max = sample;
      plot?.add(sample);
      count++;
    }
    this.#partial = partial;
    this.#count = count;
    this.#min = min;
    this.#max = max;
  }

  /**
   * Ends the file and returns its aggregates.
   *
   * @throws {InvalidSamplesError} when the last line is incomplete or the file is empty.
   */
  finish(): SampleAggregates {
    if (this.#digits > 0) this.push(new Uint8Array([NEWLINE]));
    else if (this.#negative || this.#carriageReturn) {
      this.#fail("ends in the middle of a number", this.#count);
    }
    if (this.#count === 0) {
      throw new InvalidSamplesError(1, "is missing: the file holds no samples");
    }
    return {
      count: this.#count,
      sum: this.#sum + BigInt(this.#partial),
      min: this.#min,
      max: this.#max,
    };
  }

  /**
   * Reads the line at `start` byte by byte, up to its newline or the chunk's end.
   *
   * @param count the lines before it, to name its line in an error.
   * @returns the index after the bytes read: after the line's newline, with its sample in
   *   `#sample`, or the chunk's end, with the line's state kept for the next chunk.
   */
  #readSlowly(chunk: Uint8Array, start: number, count: number): number {
    let value = this.#value;
    let digits = this.#digits;
    let negative = this.#negative;
    for (let i = start; i < chunk.length; i++) {
      const byte = chunk[i]!;
      const digit = byte - ZERO;
      if (digit >= 0 && digit <= 9 && !this.#carriageReturn) {
        value = value * 10 + digit;
        if (++digits > MAX_SAMPLE_DIGITS) {
          this.#fail(`has a number with more than ${MAX_SAMPLE_DIGITS} digits`, count);
        }
      } else if (byte === NEWLINE && digits > 0) {
        this.#sample = negative ? 0 - value : value; // 0 - 0 is 0, not -0
        this.#value = 0;
        this.#digits = 0;
        this.#negative = false;
        this.#carriageReturn = false;
        return i + 1;
      } else if (byte === MINUS && digits === 0 && !negative) {
        negative = true;
      } else if (byte === CARRIAGE_RETURN && digits > 0 && !this.#carriageReturn) {
        this.#carriageReturn = true;
      } else if (this.#carriageReturn) {
        this.#fail("has a carriage return that is not before a newline", count);
      } else {
        this.#fail(describe(byte, digits, negative), count);
      }
    }
    this.#value = value;
    this.#digits = digits;
    this.#negative = negative;
    return chunk.length;
  }

  #fail(problem: string, completedLines: number): never {
    throw new InvalidSamplesError(completedLines + 1, problem);
  }
}

function describe(byte: number, digits: number, negative: boolean): string {
  if (byte === NEWLINE) return negative ? "holds a lone '-'" : "is blank";
  if (byte === CARRIAGE_RETURN) return "has a carriage return that is not after a number";
  if (byte === MINUS) return "has a '-' that is not at its start";
  const shown = byte >= 0x20 && byte < 0x7f
    ? `'${String.fromCharCode(byte)}'`
    : `byte 0x${byte.toString(16).padStart(2, "0")}`;
  return digits > 0 || negative
    ? `has ${shown} after a number`
    : `starts with ${shown}, not an integer`;
}
