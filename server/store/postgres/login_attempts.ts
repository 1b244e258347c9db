/**
 * {@linkcode LoginAttempts} over PostgreSQL, shared by every node: one `lockouts` row per
 * name holds its consecutive failures (attempts reserved and not succeeded), the time of the
 * last and until when the name is held or blocked (`until`, NULL when it is not). A
 * reservation is one `INSERT … ON CONFLICT DO UPDATE … WHERE failures < attempts RETURNING`:
 * PostgreSQL locks the row, so reservations from any number of nodes are granted one after
 * another and never past `attempts`.
 *
 * @module
 */

import type { Sql } from "postgres";
import { MAX_TRACKED_NAMES } from "../local_login_attempts.ts";
import type {
  AttemptReservation,
  AttemptRules,
  FailedLogins,
  LoginAttempts,
} from "../interfaces.ts";

/** Reservations a node makes between two sweeps of the rows that block nothing. */
export const LOCKOUT_SWEEP_EVERY = 1_000;

/** Options of {@linkcode postgresLoginAttempts}; the defaults are the server's. */
export interface PostgresLoginAttemptsOptions {
  /**
   * Rows that block nothing (failure counts, ended blocks) kept at most, the most recent:
   * a flood of made-up names cannot grow the table without bound. Default
   * {@linkcode MAX_TRACKED_NAMES}, as a server alone keeps in memory.
   */
  maxTracked?: number;
  /** Reservations between two sweeps. Default {@linkcode LOCKOUT_SWEEP_EVERY}. */
  sweepEvery?: number;
}

/**
 * Login attempts in the database behind `sql`.
 *
 * @param sql the node's pool.
 * @param options the bound on rows kept.
 * @returns the attempts of every node on the database.
 */
export function postgresLoginAttempts(
  sql: Sql,
  options: PostgresLoginAttemptsOptions = {},
): LoginAttempts {
  const maxTracked = options.maxTracked ?? MAX_TRACKED_NAMES;
  const sweepEvery = options.sweepEvery ?? LOCKOUT_SWEEP_EVERY;
  let reservations = 0;
  return {
    async reserve(device: string, rules: AttemptRules): Promise<AttemptReservation> {
      const { now, attempts, blockMs } = rules;
      const hold = now + blockMs;
      // A block that has ended (until <= now) starts the count again at 1; the
      // reservation that takes the last attempt holds the name (until = hold).
      const [row] = await sql<{ failures: number }[]>`
        INSERT INTO lockouts AS l (device, until, failures, last)
        VALUES (${device}, ${1 >= attempts ? hold : null}::bigint, 1, ${now})
        ON CONFLICT (device) DO UPDATE SET
          failures = CASE WHEN l.until <= ${now} THEN 1 ELSE l.failures + 1 END,
          until = CASE
            WHEN (CASE WHEN l.until <= ${now} THEN 1 ELSE l.failures + 1 END) >= ${attempts}
            THEN ${hold}::bigint END,
          last = ${now}
        WHERE (l.until IS NULL AND l.failures < ${attempts}) OR l.until <= ${now}
        RETURNING failures`;
      if (++reservations % sweepEvery === 0) await sweep(now);
      if (row) return { granted: true, number: row.failures };
      const [held] = await sql<{ until: string | null }[]>`
        SELECT until FROM lockouts WHERE device = ${device}`;
      return { granted: false, until: held?.until == null ? hold : Number(held.until) };
    },

    async succeeded(device: string): Promise<void> {
      await sql`DELETE FROM lockouts WHERE device = ${device}`;
    },

    async failed(device: string, number: number, rules: AttemptRules): Promise<number | undefined> {
      if (number < rules.attempts) return undefined;
      const until = rules.now + rules.blockMs;
      await sql`
        INSERT INTO lockouts AS l (device, until, failures, last)
        VALUES (${device}, ${until}, ${number}, ${rules.now})
        ON CONFLICT (device) DO UPDATE SET
          until = excluded.until, failures = GREATEST(l.failures, excluded.failures),
          last = excluded.last`;
      return until;
    },

    async recentFailures(limit: number): Promise<FailedLogins[]> {
      const rows = await sql<{ device: string; failures: number; last: string }[]>`
        SELECT device, failures, last FROM lockouts WHERE until IS NULL
        ORDER BY last DESC, device COLLATE "C" LIMIT ${limit}`;
      return rows.map((r) => ({ device: r.device, failures: r.failures, at: Number(r.last) }));
    },
  };

  /** Deletes the rows that block nothing, past the `maxTracked` most recent. */
  async function sweep(now: number): Promise<void> {
    await sql`
      DELETE FROM lockouts WHERE device IN (
        SELECT device FROM lockouts WHERE until IS NULL OR until <= ${now}
        ORDER BY last DESC OFFSET ${maxTracked})`;
  }
}
