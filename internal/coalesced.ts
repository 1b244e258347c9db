/**
 * Joining the write in flight: a task (an fsync, a write of queued bytes, a rewrite of a
 * file from current state) that many callers ask for, where one run serves everyone who
 * asked before it started. Callers who ask while a run is in progress share the one run
 * queued behind it, so a thousand callers at once cost two runs, not a thousand, and no
 * caller is answered by a run that started before it asked.
 *
 * @module
 */

/** A task whose runs are shared by the callers that ask before each run starts. */
export class Coalesced<T> {
  readonly #task: () => Promise<T>;
  /** The run in progress or queued last (settled without error), if any. */
  #last: Promise<unknown> | undefined;
  /** The run that has not started yet: every caller until it starts shares it. */
  #queued: Promise<T> | undefined;

  /**
   * Makes the task, idle.
   *
   * @param task one run: it reads whatever state it serves (lines waiting, bytes queued)
   *   when it starts, so everything asked for before that is covered.
   */
  constructor(task: () => Promise<T>) {
    this.#task = task;
  }

  /** Whether a run is in progress or queued. */
  get busy(): boolean {
    return this.#last !== undefined;
  }

  /**
   * Asks for a run that starts after this call: on a later microtask when none is in
   * progress (so callers in the same synchronous stretch share it), else once the run in
   * progress has settled. Every caller until that run starts gets the same promise.
   *
   * @returns the outcome of that run.
   * @throws whatever that run throws; the run after it goes ahead regardless.
   * @example
   * ```ts
   * import { Coalesced } from "./coalesced.ts";
   * import assert from "node:assert/strict";
   * let runs = 0;
   * const sync = new Coalesced(() => Promise.resolve(++runs));
   * // Three callers at once share one run.
   * assert.deepEqual(await Promise.all([sync.run(), sync.run(), sync.run()]), [1, 1, 1]);
   * assert.equal(await sync.run(), 2);
   * ```
   */
  run(): Promise<T> {
    return this.#queued ??= this.#queue();
  }

  #queue(): Promise<T> {
    const run = (this.#last ?? Promise.resolve()).then(() => {
      // Starting now: whoever asks from here on needs the next run.
      this.#queued = undefined;
      return this.#task();
    });
    // Settles when the run does, never fails; the next run starts after it.
    const forget = () => {
      if (this.#last === last) this.#last = undefined;
    };
    const last: Promise<void> = run.then(forget, forget);
    this.#last = last;
    return run;
  }
}
