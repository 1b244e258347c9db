/**
 * Group commit: the only way the SQLite store writes. Each change runs in a transaction
 * shared with every other change made before it commits, and its promise settles once
 * that commit is durable: the WAL is synced (`fdatasync`) on Deno's blocking-thread pool
 * after the commit frame is written and before anyone is answered, which is the
 * durability of `synchronous = FULL` at the same point in the order without the event
 * loop waiting on the disk. Commits are spaced by load: after a commit the next one waits
 * {@linkcode GROUP_COMMIT_MS_PER_CHANGE} for each change the last one carried, at most
 * {@linkcode GROUP_COMMIT_MS}; a lone change, or one long after the last commit, goes at
 * once. Why, and the figures: docs/DECISIONS.md, "Crash safety".
 *
 * @module
 */

import type { Clock } from "../../internal/mod.ts";
import type { Database } from "./database.ts";
import type { StoreOptions } from "./interfaces.ts";

/**
 * Longest time between two group commits. Each commit costs a write of the WAL on the
 * event loop and an fsync on the blocking pool, so under load commits are spaced out and
 * each carries all the work that arrived meanwhile.
 */
export const GROUP_COMMIT_MS = 20;
/**
 * Spacing after a commit per change it carried: a few clients (groups of one or two) wait
 * a millisecond or two, a thousand uploads at once the full {@linkcode GROUP_COMMIT_MS}.
 */
export const GROUP_COMMIT_MS_PER_CHANGE = 1;

/** A change waiting for its group. */
interface Change {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** The group commit of one database. */
export class GroupCommit {
  readonly #db: Database;
  readonly #clock: Clock;
  readonly #commitSeconds: ((seconds: number) => void) | undefined;
  /** Changes waiting for the next commit. */
  #group: Change[] = [];
  /** When the last group commit began (none yet is long ago), and how many it carried. */
  #lastCommitAt = -Infinity;
  #lastGroupSize = 0;
  /** The WAL, held open from the start for the syncs of #durable (none for `:memory:`). */
  readonly #wal: Deno.FsFile | undefined;
  /** Settles when every WAL sync started so far has finished. */
  #syncing: Promise<void> = Promise.resolve();
  #closed: Promise<void> | undefined;

  /**
   * @param db the database; its WAL is opened here (SQLite creates it at the first write,
   *   and an empty one is a valid, empty WAL).
   * @param clock times the commits.
   * @param options `commitSeconds` is told how long each commit took, from its BEGIN until
   *   its WAL sync finished (real time, whatever `clock` is), in seconds: the metrics.
   * @throws the file system's error when the WAL cannot be opened.
   */
  constructor(db: Database, clock: Clock, options: StoreOptions = {}) {
    this.#db = db;
    this.#clock = clock;
    this.#commitSeconds = options.commitSeconds;
    if (db.walPath !== undefined) {
      this.#wal = Deno.openSync(db.walPath, { read: true, write: true, create: true });
    }
  }

  /**
   * Runs `work` in the next group's transaction: at once (after the current task) when
   * the last commit is old enough, else when it will be.
   *
   * @param work the change; synchronous, against the database.
   * @returns `work`'s result, once its group is durable.
   * @throws `work`'s own error (its changes alone are rolled back), or the commit's or
   *   the sync's error (the whole group gets it).
   */
  run<T>(work: () => T): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    this.#group.push({ work, resolve: resolve as (value: unknown) => void, reject });
    if (this.#group.length === 1) {
      // Bounded both ways: a clock set back must not hold commits up for longer.
      const spacing = Math.min(GROUP_COMMIT_MS, this.#lastGroupSize * GROUP_COMMIT_MS_PER_CHANGE);
      const wait = this.#lastCommitAt + spacing - this.#clock.now();
      this.#clock.setTimeout(() => this.commit(), Math.min(spacing, Math.max(0, wait)));
    }
    return promise;
  }

  /** Commits the changes waiting now, without waiting for their time (at close). */
  commit(): void {
    const group = this.#group;
    // Already committed by an earlier call.
    if (group.length === 0 || !this.#db.isOpen) return;
    this.#group = [];
    this.#lastCommitAt = this.#clock.now();
    this.#lastGroupSize = group.length;
    const started = performance.now();
    const done: { resolve: (value: unknown) => void; value: unknown }[] = [];
    try {
      this.#db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      for (const change of group) change.reject(error);
      return;
    }
    for (const change of group) {
      try {
        done.push({ resolve: change.resolve, value: this.#db.transaction(change.work) });
      } catch (error) {
        change.reject(error);
      }
    }
    try {
      this.#db.exec("COMMIT");
    } catch (error) {
      if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
      for (const change of group) change.reject(error);
      return;
    }
    this.#durable().then(
      () => {
        this.#commitSeconds?.((performance.now() - started) / 1000);
        for (const change of done) change.resolve(change.value);
      },
      (error) => {
        for (const change of done) change.resolve(Promise.reject(error));
      },
    );
  }

  /**
   * Makes the commits so far durable: an fdatasync of the WAL on Deno's blocking-thread
   * pool. With `synchronous = NORMAL` SQLite writes a commit's frames to the WAL without
   * syncing it, and syncs the WAL itself before a checkpoint copies frames into the
   * database. A change is visible to reads once committed; nothing tells a client it is
   * stored before this resolves.
   */
  #durable(): Promise<void> {
    if (this.#wal === undefined) return Promise.resolve();
    let sync: Promise<void>;
    try {
      sync = this.#wal.syncData();
    } catch (error) {
      // Runs in a timer: a failure goes to the group's callers, never up the stack.
      return Promise.reject(error);
    }
    this.#syncing = Promise.all([this.#syncing, sync]).then(() => {}, () => {});
    return sync;
  }

  /**
   * Waits for the WAL syncs started so far, then lets the WAL go; for after the database
   * closed. Closing twice is harmless.
   */
  close(): Promise<void> {
    return this.#closed ??= this.#syncing.then(() => this.#wal?.close());
  }
}
