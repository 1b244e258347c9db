/**
 * Transactions on connections of their own: each connection carries one transaction at a
 * time, and nothing else.
 *
 * Not postgres.js's `sql.begin`: in 3.4.9 it can send `BEGIN` on a pooled connection
 * without reserving it, when `BEGIN` is the query that fills a busy connection's pipeline
 * or its write is held back (porsager/postgres#823 and #1189, fixes unreleased). The
 * driver then fails the transaction with `UNSAFE_TRANSACTION` while PostgreSQL keeps it
 * open, and the pool's next queries run inside it: reported done, never committed. Seen
 * here under `deno task bench cluster`; `tests/postgres_store_test.ts` makes it happen on
 * purpose. A connection that only this module uses, one transaction after another, has
 * no pipeline for `BEGIN` to join (docs/DECISIONS.md, "Transactions on connections of
 * their own").
 *
 * @module
 */

import type { Sql } from "postgres";
import { Semaphore } from "../../../internal/mod.ts";

/**
 * Runs `work` as one transaction: committed when it resolves, rolled back when it
 * throws (and the error thrown again).
 */
export type Transact = <T>(work: (tx: Sql) => Promise<T>) => Promise<T>;

/** One connection for transactions, and the transaction it carries now. */
interface Slot {
  sql: Sql;
  /** Fails the transaction under way, if any: its connection closed. */
  lost: ((error: Error) => void) | undefined;
}

/** Opens a single-connection pool that tells `onclose` when its connection closes. */
export type OpenConnection = (onclose: () => void) => Sql;

/** Single-connection pools, each lent to one transaction at a time. */
export class TransactionConnections {
  readonly #open: OpenConnection;
  readonly #slots: readonly Slot[];
  /** The slots no transaction holds: one for each free permit of `#turns`. */
  readonly #free: Slot[];
  /** A permit per slot; transactions wait for one first come, first served. */
  readonly #turns: Semaphore;

  /**
   * @param open opens one single-connection pool (`max: 1`) that nothing else will use.
   * @param size how many transactions may run at once.
   */
  constructor(open: OpenConnection, size: number) {
    this.#open = open;
    this.#slots = Array.from({ length: size }, () => {
      const slot: Slot = { lost: undefined, sql: this.#openFor(() => slot) };
      return slot;
    });
    this.#free = [...this.#slots];
    this.#turns = new Semaphore(size);
  }

  /** {@linkcode Transact} over these connections. */
  readonly transact: Transact = async (work) => {
    const permit = await this.#turns.acquire();
    const slot = this.#free.pop()!;
    const lost = Promise.withResolvers<never>();
    lost.promise.catch(() => {});
    let closed = false;
    slot.lost = (error) => {
      closed = true;
      lost.reject(error);
    };
    /** `step`, or the connection's loss, whichever comes first. */
    const unlessLost = <T>(step: Promise<T>) => Promise.race([step, lost.promise]);
    try {
      // Reserved, so that nothing but this transaction's statements reach the connection.
      const tx = await unlessLost(slot.sql.reserve());
      try {
        await unlessLost(tx`BEGIN`);
        let result;
        try {
          result = await unlessLost(work(tx));
        } catch (error) {
          // Fails only with the connection, which takes the transaction with it.
          if (!closed) await tx`ROLLBACK`.catch(() => {});
          throw error;
        }
        await unlessLost(tx`COMMIT`);
        return result;
      } finally {
        if (!closed) tx.release();
      }
    } finally {
      slot.lost = undefined;
      // A connection lost in a transaction is not used again: postgres.js would hand a
      // statement still sent to it by `work` to the connection it opens next (and never
      // answer one sent while it is closed). A new pool takes its place.
      if (closed) this.#replace(slot);
      this.#free.push(slot);
      permit.release();
    }
  };

  /** Runs `SELECT 1` on every connection; resolves when each has answered or failed. */
  async refresh(): Promise<void> {
    await Promise.allSettled(this.#slots.map(() => this.transact((tx) => tx`SELECT 1`)));
  }

  /** Ends every connection (see postgres.js `end`). */
  async end(options: { timeout: number }): Promise<void> {
    await Promise.all(this.#slots.map((slot) => slot.sql.end(options)));
  }

  /** A connection whose close fails the transaction `slot()` carries, if any. */
  #openFor(slot: () => Slot): Sql {
    return this.#open(() => slot().lost?.(connectionClosed()));
  }

  #replace(slot: Slot): void {
    const old = slot.sql;
    slot.sql = this.#openFor(() => slot);
    old.end({ timeout: 0 }).catch(() => {});
  }
}

/** What a transaction whose connection closed fails with (postgres.js's code for it). */
function connectionClosed(): Error {
  return Object.assign(new Error("the connection to PostgreSQL closed during a transaction"), {
    code: "CONNECTION_CLOSED",
  });
}
