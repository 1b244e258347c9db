/**
 * {@linkcode Blocks} over PostgreSQL: the `blocks` table, indexed both ways.
 *
 * @module
 */

import type { Sql } from "postgres";
import type { Blocks } from "../interfaces.ts";

/** Block lists in the database behind `sql`. */
export function postgresBlocks(sql: Sql): Blocks {
  return {
    async add(blocker: string, blocked: string): Promise<boolean> {
      const result = await sql`INSERT INTO blocks (blocker, blocked) VALUES (${blocker}, ${blocked})
                               ON CONFLICT DO NOTHING`;
      return result.count > 0;
    },

    async remove(blocker: string, blocked: string): Promise<boolean> {
      const result = await sql`DELETE FROM blocks
                               WHERE blocker = ${blocker} AND blocked = ${blocked}`;
      return result.count > 0;
    },

    async isBlocked(blocker: string, blocked: string): Promise<boolean> {
      const rows =
        await sql`SELECT 1 FROM blocks WHERE blocker = ${blocker} AND blocked = ${blocked}`;
      return rows.length > 0;
    },

    async blockersOf(device: string): Promise<Set<string>> {
      const rows = await sql<{ blocker: string }[]>`
        SELECT blocker FROM blocks WHERE blocked = ${device}`;
      return new Set(rows.map((r) => r.blocker));
    },

    async blockedBy(device: string): Promise<Set<string>> {
      const rows = await sql<{ blocked: string }[]>`
        SELECT blocked FROM blocks WHERE blocker = ${device}`;
      return new Set(rows.map((r) => r.blocked));
    },
  };
}
