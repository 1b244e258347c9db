/**
 * {@linkcode PresenceHistory} over SQLite: the `presence_history` table.
 *
 * @module
 */

import type { Database } from "./database.ts";
import type { GroupCommit } from "./group_commit.ts";
import type { PresenceHistory } from "./interfaces.ts";

/** Login history in one SQLite database (`db`), written through its group commit (`commits`). */
export function sqlitePresenceHistory(db: Database, commits: GroupCommit): PresenceHistory {
  return {
    markSeen(device: string, at: number): Promise<void> {
      return commits.run(() => {
        db.run(
          "INSERT OR REPLACE INTO presence_history (device, last_seen) VALUES (?, ?)",
          device,
          at,
        );
      });
    },

    seenSince(since: number): Promise<string[]> {
      // Read in the next group, after the history queued before it: a device that has just
      // left (its offline notice already out, its history not yet committed) is not missed.
      return commits.run(() =>
        db.all<{ device: string }>(
          "SELECT device FROM presence_history WHERE last_seen >= ? ORDER BY device",
          since,
        ).map((r) => r.device)
      );
    },

    lastSeen(device: string): Promise<number | undefined> {
      return commits.run(() =>
        db.get<{ last_seen: number }>(
          "SELECT last_seen FROM presence_history WHERE device = ?",
          device,
        )?.last_seen
      );
    },
  };
}
