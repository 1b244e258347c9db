/**
 * `GET /api/security`: what the security page shows, from what the server already keeps:
 * the lockouts still running (from the store, with the time left), the names whose last
 * logins failed (the authenticator's failure counts, most recent first), and the counters
 * of logins by result, connections refused at accept by reason and logouts by reason.
 * Every list is bounded by {@linkcode MAX_SECURITY_ROWS}.
 *
 * @module
 */

import type { Lockouts } from "../store/interfaces.ts";
import type { ServerMetrics } from "./server_metrics.ts";

/** The most lockouts and the most failed names one answer lists. */
export const MAX_SECURITY_ROWS = 100;

/** The answer. */
export interface SecurityView {
  /** Running lockouts, the one that ends last first. */
  lockouts: { name: string; until: string; secondsLeft: number }[];
  /** Whether more than {@linkcode MAX_SECURITY_ROWS} lockouts run. */
  lockoutsMore: boolean;
  /** Names whose last login failed (and are not blocked), the most recent first. */
  failedLogins: { name: string; failures: number; at: string }[];
  /** Login attempts by result (`ok`, `bad_credentials`, `blocked`). */
  logins: Record<string, number>;
  /** Connections refused at accept, by reason. */
  refusals: Record<string, number>;
  /** Sessions ended, by reason. */
  logouts: Record<string, number>;
}

/** Where the view is read from. */
export interface SecuritySources {
  lockouts: Pick<Lockouts, "current">;
  failedLogins(limit: number): Promise<{ name: string; failures: number; at: number }[]>;
  metrics: ServerMetrics;
}

/** The security view at `now` (ms epoch). */
export async function securityView(sources: SecuritySources, now: number): Promise<SecurityView> {
  const running = await sources.lockouts.current(now, MAX_SECURITY_ROWS + 1);
  const failed = await sources.failedLogins(MAX_SECURITY_ROWS);
  const m = sources.metrics;
  const refusals: Record<string, number> = {};
  // Every reason this server refuses for, each shown, counted or not.
  for (const reason of m.refusalReasons) refusals[reason] = m.refusals.get({ reason });
  return {
    lockouts: running.slice(0, MAX_SECURITY_ROWS).map((l) => ({
      name: l.device,
      until: new Date(l.until).toISOString(),
      secondsLeft: Math.ceil((l.until - now) / 1000),
    })),
    lockoutsMore: running.length > MAX_SECURITY_ROWS,
    failedLogins: failed.map((f) => ({
      name: f.name,
      failures: f.failures,
      at: new Date(f.at).toISOString(),
    })),
    logins: byLabel(m.logins.samples(), "result"),
    refusals,
    logouts: byLabel(m.logouts.samples(), "reason"),
  };
}

function byLabel(
  samples: { labels?: Record<string, string>; value: number }[],
  label: string,
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of samples) counts[s.labels?.[label] ?? ""] = s.value;
  return counts;
}
