/**
 * {@linkcode PresenceHistory} over PostgreSQL: the `presence_history` table (each device's
 * last time online) and `presence_visits` (its latest visits).
 *
 * @module
 */

import type { Sql } from "postgres";
import {
  MAX_PRESENCE_VISITS_KEPT,
  type PresenceHistory,
  type PresenceVisit,
} from "../interfaces.ts";

/**
 * Login history in the database: written through `sql`, read through `reads`. One
 * repository over both pools, not one per pool: a read waits for the marks asked for
 * before it, and the marks are this object's.
 */
export function postgresPresenceHistory(sql: Sql, reads: Sql): PresenceHistory {
  /** This node's marks under way: they may run on other connections of the pools. */
  const marking = new Set<Promise<unknown>>();
  /** Runs `mark` and keeps it in `marking` until it settles. */
  function marked(mark: Promise<void>): Promise<void> {
    marking.add(mark);
    const done = () => marking.delete(mark);
    mark.then(done, done);
    return mark;
  }
  /** Waits for this node's marks asked for before now, whichever connection carries them. */
  async function afterMarks(): Promise<void> {
    await Promise.allSettled([...marking]);
  }
  return {
    markSeen(device: string, at: number): Promise<void> {
      return marked((async () => {
        await sql`INSERT INTO presence_history (device, last_seen) VALUES (${device}, ${at})
                  ON CONFLICT (device) DO UPDATE SET last_seen = excluded.last_seen`;
      })());
    },

    recordVisit(device: string, visit: PresenceVisit): Promise<void> {
      const { since, until, reason, ip } = visit;
      // One statement (one round trip, atomic by itself). Its parts see the table as it
      // was before the statement, so the visits kept are counted with this one among them;
      // visits of the device recorded at the same moment on other connections are not
      // seen, so a few more may stay until its next visit (reads show the latest kept).
      return marked((async () => {
        await sql`
          WITH visit AS (
            -- A visit with an end replaces the same visit without one, never the other way.
            INSERT INTO presence_visits (device, since, until, reason, ip)
            VALUES (${device}, ${since}, ${until}, ${reason}, ${ip})
            ON CONFLICT (device, since) DO UPDATE
            SET until = excluded.until, reason = excluded.reason, ip = excluded.ip
            WHERE excluded.until IS NOT NULL
          ), seen AS (
            INSERT INTO presence_history (device, last_seen)
            VALUES (${device}, ${until ?? since})
            ON CONFLICT (device) DO UPDATE
            SET last_seen = GREATEST(presence_history.last_seen, excluded.last_seen)
          )
          DELETE FROM presence_visits WHERE device = ${device} AND since < (
            SELECT since FROM (
              SELECT since FROM presence_visits WHERE device = ${device}
              UNION SELECT ${since}::int8
            ) AS visits
            ORDER BY since DESC LIMIT 1 OFFSET ${MAX_PRESENCE_VISITS_KEPT - 1})`;
      })());
    },

    async visits(device: string, limit: number): Promise<PresenceVisit[]> {
      await afterMarks();
      const rows = await reads<
        { since: string; until: string | null; reason: string | null; ip: string }[]
      >`SELECT since, until, reason, ip FROM presence_visits WHERE device = ${device}
        ORDER BY since DESC LIMIT ${Math.min(limit, MAX_PRESENCE_VISITS_KEPT)}`;
      return rows.map((r) => ({
        since: Number(r.since),
        until: r.until === null ? null : Number(r.until),
        reason: r.reason,
        ip: r.ip,
      }));
    },

    async seenSince(since: number): Promise<string[]> {
      // After this node's marks asked for before the question (a device that has just left).
      await afterMarks();
      const rows = await reads<{ device: string }[]>`
        SELECT device FROM presence_history WHERE last_seen >= ${since}
        ORDER BY device COLLATE "C"`;
      return rows.map((r) => r.device);
    },

    async lastSeen(device: string): Promise<number | undefined> {
      await afterMarks();
      const [row] = await reads<{ last_seen: string | number }[]>`
        SELECT last_seen FROM presence_history WHERE device = ${device}`;
      return row === undefined ? undefined : Number(row.last_seen);
    },
  };
}
