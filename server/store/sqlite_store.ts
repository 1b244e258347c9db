/**
 * The {@linkcode Store} over one SQLite file: the database layer (`database.ts`,
 * `migrations.ts`, `group_commit.ts`) and a repository per table group. Reads answer at
 * once from the in-process database; every write joins the group commit, whose WAL sync
 * runs off the event loop's thread before the write's promise resolves
 * (docs/DECISIONS.md, "Crash safety" and "The store behind interfaces").
 *
 * @module
 */

import { type Clock, systemClock } from "../../internal/mod.ts";
import { sqliteBlocks } from "./blocks.ts";
import { Database } from "./database.ts";
import { sqliteFileRecords } from "./files.ts";
import { GroupCommit } from "./group_commit.ts";
import type { Store, StoreOptions } from "./interfaces.ts";
import { localLoginAttempts } from "./local_login_attempts.ts";
import { sqliteLockouts } from "./lockouts.ts";
import { sqliteMailbox } from "./mailbox.ts";
import { sqlitePresenceHistory } from "./presence_history.ts";
import { StoreError } from "./store_error.ts";

/**
 * Opens (creating if needed) and migrates the SQLite store at `path`.
 *
 * @param path the database file, or `:memory:`.
 * @param clock times the group commits.
 * @param options what the store reports as it works.
 * @returns the store; close it when done.
 * @throws {StoreError} when the file is not a database, is from a newer version, or its
 *   write-ahead log cannot be opened.
 * @example
 * ```ts
 * import { openSqliteStore } from "./sqlite_store.ts";
 * import assert from "node:assert/strict";
 * const store = openSqliteStore(":memory:");
 * assert.equal(await store.blocks.add("watch1", "watch2"), true);
 * assert.deepEqual(await store.blocks.blockersOf("watch2"), new Set(["watch1"]));
 * await store.close();
 * ```
 */
export function openSqliteStore(
  path: string,
  clock: Clock = systemClock,
  options: StoreOptions = {},
): Store {
  const db = new Database(path);
  let commits: GroupCommit;
  try {
    commits = new GroupCommit(db, clock, options);
  } catch (error) {
    db.close();
    throw new StoreError(
      `cannot open the write-ahead log of database ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  let closed: Promise<void> | undefined;
  const lockouts = sqliteLockouts(db, commits);
  return {
    files: sqliteFileRecords(db, commits),
    lockouts,
    // One server reserves alone: its counts live in memory, its blocks in `lockouts`.
    loginAttempts: localLoginAttempts(lockouts),
    mailbox: sqliteMailbox(db, commits),
    blocks: sqliteBlocks(db, commits),
    presenceHistory: sqlitePresenceHistory(db, commits),
    close() {
      return closed ??= (() => {
        // Commit what waits for its group, then close: SQLite checkpoints the WAL.
        commits.commit();
        db.close();
        return commits.close();
      })();
    },
  };
}
