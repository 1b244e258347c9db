/**
 * {@linkcode PresenceHistory} over PostgreSQL: the `presence_history` table.
 *
 * @module
 */

import type { Sql } from "postgres";
import type { PresenceHistory } from "../interfaces.ts";

/** Login history in the database behind `sql`. */
export function postgresPresenceHistory(sql: Sql): PresenceHistory {
  /** This node's marks under way: they may run on other connections of the pool. */
  const marking = new Set<Promise<unknown>>();
  return {
    markSeen(device: string, at: number): Promise<void> {
      const mark = (async () => {
        await sql`INSERT INTO presence_history (device, last_seen) VALUES (${device}, ${at})
                  ON CONFLICT (device) DO UPDATE SET last_seen = excluded.last_seen`;
      })();
      marking.add(mark);
      const done = () => marking.delete(mark);
      mark.then(done, done);
      return mark;
    },

    async seenSince(since: number): Promise<string[]> {
      // After this node's marks asked for before the question (a device that has just left),
      // whichever connection of the pool carries them.
      await Promise.allSettled([...marking]);
      const rows = await sql<{ device: string }[]>`
        SELECT device FROM presence_history WHERE last_seen >= ${since}
        ORDER BY device COLLATE "C"`;
      return rows.map((r) => r.device);
    },

    async lastSeen(device: string): Promise<number | undefined> {
      await Promise.allSettled([...marking]);
      const [row] = await sql<{ last_seen: string | number }[]>`
        SELECT last_seen FROM presence_history WHERE device = ${device}`;
      return row === undefined ? undefined : Number(row.last_seen);
    },
  };
}
