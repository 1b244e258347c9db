/**
 * {@linkcode Blocks} over SQLite: the `blocks` table, indexed both ways, so `blockersOf`
 * (broadcast, AED, `whoelse`) and `blockedBy` (presence notices) are one index lookup.
 *
 * @module
 */

import type { Database } from "./database.ts";
import type { GroupCommit } from "./group_commit.ts";
import type { Blocks } from "./interfaces.ts";

/** Block lists in one SQLite database (`db`), written through its group commit (`commits`). */
export function sqliteBlocks(db: Database, commits: GroupCommit): Blocks {
  return {
    add(blocker: string, blocked: string): Promise<boolean> {
      return commits.run(() =>
        db.run(
          "INSERT OR IGNORE INTO blocks (blocker, blocked) VALUES (?, ?)",
          blocker,
          blocked,
        ) > 0
      );
    },

    remove(blocker: string, blocked: string): Promise<boolean> {
      return commits.run(() =>
        db.run("DELETE FROM blocks WHERE blocker = ? AND blocked = ?", blocker, blocked) > 0
      );
    },

    isBlocked(blocker: string, blocked: string): Promise<boolean> {
      return Promise.try(() =>
        db.get("SELECT 1 FROM blocks WHERE blocker = ? AND blocked = ?", blocker, blocked) !==
          undefined
      );
    },

    blockersOf(device: string): Promise<Set<string>> {
      return Promise.try(() =>
        new Set(
          db.all<{ blocker: string }>("SELECT blocker FROM blocks WHERE blocked = ?", device)
            .map((r) => r.blocker),
        )
      );
    },

    blockedBy(device: string): Promise<Set<string>> {
      return Promise.try(() =>
        new Set(
          db.all<{ blocked: string }>("SELECT blocked FROM blocks WHERE blocker = ?", device)
            .map((r) => r.blocked),
        )
      );
    },
  };
}
