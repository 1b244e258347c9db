/**
 * A sliding replay window over packet numbers (as in IPsec, RFC 4303 §3.4.3, and DTLS):
 * the highest number accepted so far and which of the `size` numbers below it were
 * seen. A number above the window is new, one inside it is new once, and one below it
 * is too old to tell and refused.
 *
 * @module
 */

/** What a packet number is to a {@linkcode ReplayWindow}. */
export type ReplayVerdict = "new" | "seen" | "old";

/** The numbers seen lately in one direction of one chat (or transfer). */
export class ReplayWindow {
  readonly #size: number;
  /** 1 where number `n` (slot `n % size`) within the window was accepted. */
  readonly #seen: Uint8Array;
  /** Highest number accepted; -1 before the first. */
  #top = -1;

  /** @param size how many numbers below the highest are remembered. */
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`a replay window needs a positive size, got ${size}`);
    }
    this.#size = size;
    this.#seen = new Uint8Array(size);
  }

  /**
   * Classifies a packet number without recording it (check the datagram's tag first,
   * then {@linkcode accept}).
   *
   * @param n a packet number (a non-negative safe integer).
   */
  check(n: number): ReplayVerdict {
    if (n > this.#top) return "new";
    if (n <= this.#top - this.#size) return "old";
    return this.#seen[n % this.#size] === 1 ? "seen" : "new";
  }

  /**
   * Records `n` as accepted; the window slides up when `n` is above it.
   *
   * @param n a number {@linkcode check} called new.
   */
  accept(n: number): void {
    if (n > this.#top) {
      // Slots of the numbers the window slides over are free again.
      const from = Math.max(this.#top + 1, n - this.#size + 1);
      for (let k = from; k <= n; k++) this.#seen[k % this.#size] = 0;
      this.#top = n;
    }
    this.#seen[n % this.#size] = 1;
  }
}
