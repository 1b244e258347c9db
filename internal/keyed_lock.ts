/**
 * Mutual exclusion by key: work on one key runs one at a time, in the order it asked;
 * work on different keys never waits for each other.
 *
 * @module
 */

/**
 * A lock per key (a file path, a device name). Keys are forgotten as soon as nobody holds
 * or waits for them, so the map is as large as the work in progress, not as the keys
 * ever used.
 */
export class KeyedLock<K = string> {
  /** Per key: settles once the last holder or waiter so far is done. */
  readonly #tails = new Map<K, Promise<void>>();

  /** Keys held or waited for now. */
  get size(): number {
    return this.#tails.size;
  }

  /**
   * Runs `work` once every earlier holder of `key` is done, and holds `key` until it
   * settles. A holder that fails passes the key on like one that succeeds.
   *
   * @param key what to hold.
   * @param work the work done while holding it.
   * @returns what `work` resolves with.
   * @throws whatever `work` throws.
   * @example
   * ```ts
   * import { KeyedLock } from "./keyed_lock.ts";
   * import assert from "node:assert/strict";
   * const lock = new KeyedLock();
   * const order: string[] = [];
   * const step = (name: string) => async () => {
   *   order.push(`${name} in`);
   *   await new Promise((resolve) => setTimeout(resolve, 1));
   *   order.push(`${name} out`);
   * };
   * await Promise.all([lock.run("a", step("first")), lock.run("a", step("second"))]);
   * assert.deepEqual(order, ["first in", "first out", "second in", "second out"]);
   * ```
   */
  async run<T>(key: K, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key);
    const { promise: mine, resolve: release } = Promise.withResolvers<void>();
    const tail = previous ? previous.then(() => mine) : mine;
    this.#tails.set(key, tail);
    try {
      await previous;
      return await work();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
