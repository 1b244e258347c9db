/**
 * {@linkcode PresenceHistory} over SQLite: the `presence_history` table.
 *
 * @module
 */

import type { Database } from "./database.ts";
import type { GroupCommit } from "./group_commit.ts";
import type { PresenceHistory } from "./interfaces.ts";

/** Login history in one SQLite database. */
export class SqlitePresenceHistory implements PresenceHistory {
  readonly #db: Database;
  readonly #commits: GroupCommit;

  constructor(db: Database, commits: GroupCommit) {
    this.#db = db;
    this.#commits = commits;
  }

  markSeen(device: string, at: number): Promise<void> {
    return this.#commits.run(() => {
      this.#db.run(
        "INSERT OR REPLACE INTO presence_history (device, last_seen) VALUES (?, ?)",
        device,
        at,
      );
    });
  }

  seenSince(since: number): Promise<string[]> {
    return Promise.try(() =>
      this.#db.all<{ device: string }>(
        "SELECT device FROM presence_history WHERE last_seen >= ? ORDER BY device",
        since,
      ).map((r) => r.device)
    );
  }
}
