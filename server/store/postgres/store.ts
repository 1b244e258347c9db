/**
 * The {@linkcode Store} over PostgreSQL, for servers that form one network (SPEC §9):
 * every repository over one node's pool (`database.ts`). Every write is one transaction
 * committed with PostgreSQL's `synchronous_commit` (on by default), so its promise
 * resolves once the change is durable.
 *
 * @module
 */

import type { Store } from "../interfaces.ts";
import { postgresBlocks } from "./blocks.ts";
import type { PostgresDatabase } from "./database.ts";
import { postgresFileRecords } from "./files.ts";
import { postgresLockouts } from "./lockouts.ts";
import { postgresLoginAttempts } from "./login_attempts.ts";
import { postgresMailbox } from "./mailbox.ts";
import { postgresPresenceHistory } from "./presence_history.ts";

/**
 * The store of node `node` on `db`. The store owns the pool: closing the store waits for
 * the queries under way and closes it (the node's cluster registry, which shares the pool,
 * is closed before).
 *
 * @param db the node's pool, migrated.
 * @param node the node's id: its commit journal rows and the files it holds carry it.
 * @returns the repositories.
 * @example
 * ```ts ignore
 * import { PostgresDatabase } from "./database.ts";
 * import { postgresStore } from "./store.ts";
 * const db = await PostgresDatabase.open("postgres://iotnet@127.0.0.1:5432/iotnet");
 * const store = postgresStore(db, "node1");
 * await store.blocks.add("watch1", "watch2");
 * await store.close();
 * ```
 */
export function postgresStore(db: PostgresDatabase, node: string): Store {
  const { sql } = db;
  return {
    files: tracked(db, postgresFileRecords(sql, node)),
    lockouts: tracked(db, postgresLockouts(sql)),
    loginAttempts: tracked(db, postgresLoginAttempts(sql)),
    mailbox: tracked(db, postgresMailbox(sql)),
    blocks: tracked(db, postgresBlocks(sql)),
    presenceHistory: tracked(db, postgresPresenceHistory(sql)),
    close: () => db.close(),
  };
}

/** `repository` with every method's operation tracked by `db` (closing waits for it). */
function tracked<T extends object>(db: PostgresDatabase, repository: T): T {
  const methods = Object.entries(repository) as [
    string,
    (...args: unknown[]) => Promise<unknown>,
  ][];
  return Object.fromEntries(
    methods.map(([name, method]) => [name, (...args: unknown[]) => db.track(method(...args))]),
  ) as T;
}
