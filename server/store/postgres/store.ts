/**
 * The {@linkcode Store} over PostgreSQL, for servers that form one network (SPEC §9):
 * every repository over one node's pools (`database.ts`): its writes over the write pool,
 * its reads over the read pool. Every write is one transaction
 * committed with PostgreSQL's `synchronous_commit` (on by default), so its promise
 * resolves once the change is durable.
 *
 * @module
 */

import type { Sql } from "postgres";
import type { Store, StoreOptions } from "../interfaces.ts";
import { postgresBlocks } from "./blocks.ts";
import { UnavailableError } from "../../../protocol/errors.ts";
import { isUnreachable, type PostgresDatabase, reason } from "./database.ts";
import { postgresFileRecords } from "./files.ts";
import { postgresLockouts } from "./lockouts.ts";
import { postgresLoginAttempts } from "./login_attempts.ts";
import { postgresMailbox } from "./mailbox.ts";
import { postgresPresenceHistory } from "./presence_history.ts";

/** The repositories of a store. */
type Repository = Exclude<keyof Store, "close">;

/**
 * The methods that write, by repository: each is one transaction, timed for
 * `StoreOptions.commitSeconds` (a read is not a commit), run over the write pool. A method
 * added to an interface that writes is added here (else it runs over the read pool, whose
 * connections refuse writes).
 */
const WRITES = {
  files: [
    "put",
    "remove",
    "beginUpload",
    "finishUpload",
    "dropPendingUpload",
    "beginDelete",
    "dropPendingDelete",
  ],
  lockouts: ["set", "clear"],
  loginAttempts: ["reserve", "succeeded", "failed"],
  mailbox: ["add", "remove"],
  blocks: ["add", "remove"],
  presenceHistory: ["markSeen", "recordVisit"],
} as const satisfies { [R in Repository]: readonly (keyof Store[R])[] };

/**
 * The store of node `node` on `db`. The store owns the pool: closing the store waits for
 * the queries under way and closes it (the node's cluster registry, which shares the pool,
 * is closed before).
 *
 * @param db the node's pool, migrated.
 * @param node the node's id: its commit journal rows and the files it holds carry it.
 * @param options what the store reports as it works: each write's time to commit.
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
export function postgresStore(
  db: PostgresDatabase,
  node: string,
  options: StoreOptions = {},
): Store {
  const track = { db, commitSeconds: options.commitSeconds };
  /** A repository over the write pool for its `writes`, over the read pool for the rest. */
  const split = <T extends object>(make: (sql: Sql) => T, writes: readonly (keyof T)[]): T =>
    tracked(readsApart(make(db.sql), make(db.reads), writes), { ...track, writes });
  return {
    files: split((sql) => postgresFileRecords(sql, db.transact, node), WRITES.files),
    lockouts: split(postgresLockouts, WRITES.lockouts),
    loginAttempts: split(postgresLoginAttempts, WRITES.loginAttempts),
    mailbox: split((sql) => postgresMailbox(sql, db.transact), WRITES.mailbox),
    blocks: split(postgresBlocks, WRITES.blocks),
    // Over both pools itself: its reads wait for its marks under way.
    presenceHistory: tracked(postgresPresenceHistory(db.sql, db.reads), {
      ...track,
      writes: WRITES.presenceHistory,
    }),
    close: () => db.close(),
  };
}

/**
 * The methods named in `writes` from `writing`, every other one from `reading` (the same
 * repository over the read pool). For repositories without state of their own: two
 * objects would keep two copies of it (the presence history, whose reads wait for its
 * marks, takes both pools itself).
 */
function readsApart<T extends object>(writing: T, reading: T, writes: readonly (keyof T)[]): T {
  const written = new Set<unknown>(writes);
  return Object.fromEntries(
    Object.entries(reading).map(([name, method]) => [
      name,
      written.has(name) ? writing[name as keyof T] : method,
    ]),
  ) as T;
}

/**
 * `repository` with every method's operation tracked by `db` (closing waits for it), its
 * failures for want of the database turned into `unavailable` (what the device is told),
 * and the time of each of its `writes` that succeeds told to `commitSeconds`.
 */
export function tracked<T extends object>(
  repository: T,
  { db, writes, commitSeconds }: {
    db: PostgresDatabase;
    writes: readonly (keyof T)[];
    commitSeconds: ((seconds: number) => void) | undefined;
  },
): T {
  const methods = Object.entries(repository) as [
    string,
    (...args: unknown[]) => Promise<unknown>,
  ][];
  const timed = new Set<unknown>(writes);
  return Object.fromEntries(methods.map(([name, method]) => {
    if (!commitSeconds || !timed.has(name)) {
      return [name, (...args: unknown[]) => db.track(method(...args).catch(unavailable))];
    }
    return [name, (...args: unknown[]) => {
      const started = performance.now();
      const operation = method(...args);
      operation.then(() => commitSeconds((performance.now() - started) / 1000), () => {});
      return db.track(operation.catch(unavailable));
    }];
  })) as T;
}

/** @throws {UnavailableError} for a database out of reach, else `error` itself. */
function unavailable(error: unknown): never {
  if (!isUnreachable(error)) throw error;
  throw new UnavailableError(
    `this server cannot reach the network's database (${reason(error)}); try again shortly`,
    { cause: error },
  );
}
