/**
 * {@linkcode PresenceHistory} over PostgreSQL: the `presence_history` table.
 *
 * @module
 */

import type { Sql } from "postgres";
import type { PresenceHistory } from "../interfaces.ts";

/** Login history in the database behind `sql`. */
export function postgresPresenceHistory(sql: Sql): PresenceHistory {
  return {
    async markSeen(device: string, at: number): Promise<void> {
      await sql`INSERT INTO presence_history (device, last_seen) VALUES (${device}, ${at})
                ON CONFLICT (device) DO UPDATE SET last_seen = excluded.last_seen`;
    },

    async seenSince(since: number): Promise<string[]> {
      const rows = await sql<{ device: string }[]>`
        SELECT device FROM presence_history WHERE last_seen >= ${since}
        ORDER BY device COLLATE "C"`;
      return rows.map((r) => r.device);
    },
  };
}
