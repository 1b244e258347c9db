/**
 * {@linkcode Lockouts} over PostgreSQL: the `lockouts` table, shared by every node, whose
 * rows also count failed logins (`login_attempts.ts`).
 *
 * @module
 */

import type { Sql } from "postgres";
import type { Lockouts } from "../interfaces.ts";

/** Login lockouts in the database behind `sql`. */
export function postgresLockouts(sql: Sql): Lockouts {
  return {
    async until(device: string): Promise<number | undefined> {
      const [row] = await sql<{ until: string | null }[]>`
        SELECT until FROM lockouts WHERE device = ${device}`;
      // A row with no block counts failures only (login_attempts.ts).
      return row?.until == null ? undefined : Number(row.until);
    },

    async set(device: string, until: number): Promise<void> {
      await sql`INSERT INTO lockouts (device, until) VALUES (${device}, ${until})
                ON CONFLICT (device) DO UPDATE SET until = excluded.until`;
    },

    async clear(device: string): Promise<void> {
      await sql`DELETE FROM lockouts WHERE device = ${device}`;
    },

    async current(now: number, limit: number): Promise<{ device: string; until: number }[]> {
      const rows = await sql<{ device: string; until: string }[]>`
        SELECT device, until FROM lockouts WHERE until > ${now}
        ORDER BY until DESC, device COLLATE "C" LIMIT ${limit}`;
      return rows.map((r) => ({ device: r.device, until: Number(r.until) }));
    },

    // Through the index on `until`: as many index entries as it counts, at most `limit`.
    async running(now: number, limit: number): Promise<number> {
      const [row] = await sql<{ n: string }[]>`
        SELECT count(*) AS n FROM (SELECT 1 FROM lockouts WHERE until > ${now} LIMIT ${limit}) r`;
      return Number(row!.n);
    },
  };
}
