/**
 * A counting semaphore that hands out its permits in the order they were asked for.
 *
 * @module
 */

/** A permit; giving it back twice is harmless. */
export interface Permit {
  /** Gives the permit back, to the longest waiter if there is one. */
  release(): void;
}

/** At most `size` holders at once; the rest wait first come, first served. */
export class Semaphore {
  /** Permits in all. */
  readonly size: number;
  #held = 0;
  readonly #waiting: (() => void)[] = [];

  /**
   * Makes a semaphore with every permit free.
   *
   * @param size permits in all, at least 1.
   * @throws {RangeError} when `size` is not a positive integer.
   */
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`a semaphore needs at least one permit, not ${size}`);
    }
    this.size = size;
  }

  /** Permits held now. */
  get held(): number {
    return this.#held;
  }

  /** Callers waiting for a permit now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Resolves with a permit once one is free and every earlier caller has had theirs.
   *
   * @param signal gives up the wait: the caller leaves the line and gets no permit.
   * @throws the signal's reason when it aborts before a permit is handed over.
   */
  acquire(signal?: AbortSignal): Promise<Permit> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#held < this.size && this.#waiting.length === 0) {
      this.#held++;
      return Promise.resolve(this.#permit());
    }
    return new Promise((resolve, reject) => {
      const waiter = () => {
        signal?.removeEventListener("abort", leave);
        resolve(this.#permit());
      };
      const leave = () => {
        const index = this.#waiting.indexOf(waiter);
        if (index >= 0) this.#waiting.splice(index, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", leave, { once: true });
      this.#waiting.push(waiter);
    });
  }

  #permit(): Permit {
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const next = this.#waiting.shift();
        if (next) next(); // the permit passes straight on: held stays the same
        else this.#held--;
      },
    };
  }
}
