/**
 * Seeded, deterministic impairment decisions for test links and the lossy relay: for
 * each datagram, whether it is dropped, duplicated, and how long each copy is delayed
 * (a delayed copy is overtaken by later datagrams: reordering). The PRNG is mulberry32,
 * so the same seed gives the same decisions on every run.
 *
 * @module
 */

/**
 * mulberry32: a tiny 32-bit seeded PRNG.
 *
 * @param seed any 32-bit integer.
 * @returns a function giving floats in [0, 1).
 * @example
 * ```ts
 * import { mulberry32 } from "./loss_model.ts";
 * const a = mulberry32(7), b = mulberry32(7);
 * console.assert(a() === b());
 * ```
 */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return function next(): number {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Impairment rates, each in [0, 1], and delays in ms. */
export interface LossConfig {
  /** PRNG seed. */
  seed: number;
  /** Probability a datagram is dropped. */
  loss?: number;
  /** Probability a delivered datagram is delivered twice. */
  duplicate?: number;
  /** Probability a delivered copy is held back by up to `reorderMs` extra (reordering). */
  reorder?: number;
  /** Fixed one-way delay of every copy. */
  delayMs?: number;
  /** Largest extra hold-back of a reordered copy. */
  reorderMs?: number;
}

/** Counters of a {@linkcode LossModel}. */
export interface LossCounters {
  seen: number;
  dropped: number;
  duplicated: number;
  reordered: number;
}

/** Decides the fate of each datagram from a seeded PRNG. */
export class LossModel {
  #rand: () => number;
  #config: Required<Omit<LossConfig, "seed">>;
  /** What happened so far. */
  readonly counters: LossCounters = { seen: 0, dropped: 0, duplicated: 0, reordered: 0 };

  /** @param config rates, delays and seed. */
  constructor(config: LossConfig) {
    this.#rand = mulberry32(config.seed);
    this.#config = {
      loss: config.loss ?? 0,
      duplicate: config.duplicate ?? 0,
      reorder: config.reorder ?? 0,
      delayMs: config.delayMs ?? 0,
      reorderMs: config.reorderMs ?? 5,
    };
  }

  /**
   * Decides one datagram's fate. Always draws the same number of PRNG values, so a
   * decision does not depend on earlier outcomes.
   *
   * @returns the delay in ms of each copy to deliver; empty when dropped.
   */
  decide(): number[] {
    const [r1, r2, r3, r4, r5] = [
      this.#rand(),
      this.#rand(),
      this.#rand(),
      this.#rand(),
      this.#rand(),
    ];
    this.counters.seen++;
    if (r1 < this.#config.loss) {
      this.counters.dropped++;
      return [];
    }
    const copies = [this.#config.delayMs];
    if (r2 < this.#config.duplicate) {
      this.counters.duplicated++;
      copies.push(this.#config.delayMs + r5 * this.#config.reorderMs);
    }
    if (r3 < this.#config.reorder) {
      this.counters.reordered++;
      copies[0] = this.#config.delayMs + 1 + r4 * this.#config.reorderMs;
    }
    return copies;
  }
}
