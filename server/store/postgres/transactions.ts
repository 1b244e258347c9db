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

/**
 * Runs `work` as one transaction: committed when it resolves, rolled back when it
 * throws (and the error thrown again).
 */
export type Transact = <T>(work: (tx: Sql) => Promise<T>) => Promise<T>;

/** Single-connection pools, each lent to one transaction at a time. */
export class TransactionConnections {
  readonly #connections: readonly Sql[];
  readonly #free: Sql[];
  /** Transactions waiting for a connection, first come first served. */
  readonly #waiting: ((connection: Sql) => void)[] = [];

  /**
   * @param open opens one single-connection pool (`max: 1`) that nothing else will use.
   * @param size how many transactions may run at once.
   */
  constructor(open: () => Sql, size: number) {
    this.#connections = Array.from({ length: size }, open);
    this.#free = [...this.#connections];
  }

  /** {@linkcode Transact} over these connections. */
  readonly transact: Transact = async (work) => {
    const connection = await this.#take();
    try {
      // Reserved, so that a connection lost in the middle fails the statements after it
      // instead of reconnecting and running them outside the transaction.
      const tx = await connection.reserve();
      try {
        await tx`BEGIN`;
        let result;
        try {
          result = await work(tx);
        } catch (error) {
          // Fails only with the connection, which takes the transaction with it.
          await tx`ROLLBACK`.catch(() => {});
          throw error;
        }
        await tx`COMMIT`;
        return result;
      } finally {
        tx.release();
      }
    } finally {
      this.#give(connection);
    }
  };

  /** Runs `SELECT 1` on every connection; resolves when each has answered or failed. */
  async refresh(): Promise<void> {
    await Promise.allSettled(this.#connections.map(() => this.transact((tx) => tx`SELECT 1`)));
  }

  /** Ends every connection (see postgres.js `end`). */
  async end(options: { timeout: number }): Promise<void> {
    await Promise.all(this.#connections.map((connection) => connection.end(options)));
  }

  #take(): Promise<Sql> {
    const free = this.#free.pop();
    if (free) return Promise.resolve(free);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #give(connection: Sql): void {
    const next = this.#waiting.shift();
    if (next) next(connection);
    else this.#free.push(connection);
  }
}
