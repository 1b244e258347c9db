/**
 * {@linkcode PresenceHistory} over SQLite: the `presence_history` table (each device's last
 * time online) and `presence_visits` (its latest visits).
 *
 * @module
 */

import type { Database } from "./database.ts";
import type { GroupCommit } from "./group_commit.ts";
import {
  MAX_PRESENCE_VISITS_KEPT,
  type PresenceHistory,
  type PresenceVisit,
} from "./interfaces.ts";

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

    recordVisit(device: string, visit: PresenceVisit): Promise<void> {
      return commits.run(() => {
        // A visit with an end replaces the same visit without one, never the other way round.
        db.run(
          `INSERT INTO presence_visits (device, since, until, reason, ip) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (device, since) DO UPDATE
           SET until = excluded.until, reason = excluded.reason, ip = excluded.ip
           WHERE excluded.until IS NOT NULL`,
          device,
          visit.since,
          visit.until,
          visit.reason,
          visit.ip,
        );
        db.run(
          `INSERT INTO presence_history (device, last_seen) VALUES (?, ?)
           ON CONFLICT (device) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)`,
          device,
          visit.until ?? visit.since,
        );
        db.run(
          `DELETE FROM presence_visits WHERE device = ? AND since < (
             SELECT since FROM presence_visits WHERE device = ? ORDER BY since DESC
             LIMIT 1 OFFSET ?)`,
          device,
          device,
          MAX_PRESENCE_VISITS_KEPT - 1,
        );
      });
    },

    visits(device: string, limit: number): Promise<PresenceVisit[]> {
      return commits.run(() =>
        db.all<{ since: number; until: number | null; reason: string | null; ip: string }>(
          `SELECT since, until, reason, ip FROM presence_visits WHERE device = ?
           ORDER BY since DESC LIMIT ?`,
          device,
          limit,
        ).map(({ since, until, reason, ip }) => ({ since, until, reason, ip }))
      );
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
