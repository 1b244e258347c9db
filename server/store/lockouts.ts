/**
 * {@linkcode Lockouts} over SQLite: the `lockouts` table.
 *
 * @module
 */

import type { Database } from "./database.ts";
import type { GroupCommit } from "./group_commit.ts";
import type { Lockouts } from "./interfaces.ts";

/** Login lockouts in one SQLite database (`db`), written through its group commit (`commits`). */
export function sqliteLockouts(db: Database, commits: GroupCommit): Lockouts {
  return {
    until(device: string): Promise<number | undefined> {
      return Promise.try(() =>
        db.get<{ until: number }>("SELECT until FROM lockouts WHERE device = ?", device)?.until
      );
    },

    set(device: string, until: number): Promise<void> {
      return commits.run(() => {
        db.run("INSERT OR REPLACE INTO lockouts (device, until) VALUES (?, ?)", device, until);
      });
    },

    clear(device: string): Promise<void> {
      return commits.run(() => {
        db.run("DELETE FROM lockouts WHERE device = ?", device);
      });
    },

    current(now: number, limit: number): Promise<{ device: string; until: number }[]> {
      return Promise.try(() =>
        db.all<{ device: string; until: number }>(
          "SELECT device, until FROM lockouts WHERE until > ? ORDER BY until DESC, device LIMIT ?",
          now,
          limit,
        ).map((r) => ({ device: r.device, until: r.until }))
      );
    },

    // Through the index on `until`: as many index entries as it counts, at most `limit`.
    running(now: number, limit: number): Promise<number> {
      return Promise.try(() =>
        db.get<{ n: number }>(
          "SELECT count(*) AS n FROM (SELECT 1 FROM lockouts WHERE until > ? LIMIT ?)",
          now,
          limit,
        )!.n
      );
    },
  };
}
