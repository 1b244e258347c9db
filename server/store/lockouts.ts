/**
 * {@linkcode Lockouts} over SQLite: the `lockouts` table.
 *
 * @module
 */

import type { Database } from "./database.ts";
import type { GroupCommit } from "./group_commit.ts";
import type { Lockouts } from "./interfaces.ts";

/** Login lockouts in one SQLite database. */
export class SqliteLockouts implements Lockouts {
  readonly #db: Database;
  readonly #commits: GroupCommit;

  constructor(db: Database, commits: GroupCommit) {
    this.#db = db;
    this.#commits = commits;
  }

  until(device: string): Promise<number | undefined> {
    return Promise.try(() =>
      this.#db.get<{ until: number }>("SELECT until FROM lockouts WHERE device = ?", device)?.until
    );
  }

  set(device: string, until: number): Promise<void> {
    return this.#commits.run(() => {
      this.#db.run("INSERT OR REPLACE INTO lockouts (device, until) VALUES (?, ?)", device, until);
    });
  }

  clear(device: string): Promise<void> {
    return this.#commits.run(() => {
      this.#db.run("DELETE FROM lockouts WHERE device = ?", device);
    });
  }
}
