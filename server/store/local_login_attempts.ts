/**
 * {@linkcode LoginAttempts} for a server alone (the SQLite store): failure counts in this
 * process's memory, blocks in the durable {@linkcode Lockouts}. One server is the only one
 * reserving attempts, so memory is enough for the counts, and a reservation cannot outlive
 * its server; a restart starts the counts afresh while the blocks stay (SPEC §1), as before
 * reservations existed. A failed attempt costs no disk write, only a block does.
 *
 * @module
 */

import type {
  AttemptReservation,
  AttemptRules,
  FailedLogins,
  Lockouts,
  LoginAttempts,
} from "./interfaces.ts";

/**
 * Most names whose failure counts are kept; past it the longest-untouched count is
 * forgotten, so a flood of made-up names cannot grow memory without bound.
 */
export const MAX_TRACKED_NAMES = 100_000;

/** One name's attempts counted since its last success or block. */
interface Count {
  /** Attempts reserved: failed, or being checked. */
  count: number;
  /** When the last was reserved (ms epoch). */
  at: number;
  /** Until when the reservation of the last attempt holds the name, while it is checked. */
  holdUntil?: number;
}

/**
 * Login attempts counted in memory, blocked in `lockouts`.
 *
 * @param lockouts where blocks are recorded (the store's, durable).
 * @returns the attempts of one server.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { localLoginAttempts } from "./local_login_attempts.ts";
 * import { openSqliteStore } from "./sqlite_store.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const store = openSqliteStore(`${dir}/iotnet.db`);
 * const attempts = localLoginAttempts(store.lockouts);
 * const rules = { now: 1_000, attempts: 1, blockMs: 10_000 };
 * assert.deepEqual(await attempts.reserve("watch1", rules), { granted: true, number: 1 });
 * assert.equal(await attempts.failed("watch1", 1, rules), 11_000);
 * assert.deepEqual(await attempts.reserve("watch1", rules), { granted: false, until: 11_000 });
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function localLoginAttempts(lockouts: Lockouts): LoginAttempts {
  /** Counts by name, the least recently reserved first. */
  const counts = new Map<string, Count>();
  return {
    async reserve(device: string, rules: AttemptRules): Promise<AttemptReservation> {
      const { now, attempts, blockMs } = rules;
      const until = await lockouts.until(device);
      if (until !== undefined) {
        if (until > now) return { granted: false, until };
        // The block has ended: the count starts again (one reserved since is kept: an
        // attempt that read the same block before this one cleared it).
        if ((counts.get(device)?.at ?? until) < until) counts.delete(device);
        await lockouts.clear(device);
      }
      const counted = counts.get(device);
      if (counted?.holdUntil !== undefined && counted.holdUntil > now) {
        return { granted: false, until: counted.holdUntil };
      }
      const number = counted?.holdUntil === undefined ? (counted?.count ?? 0) + 1 : 1;
      counts.delete(device); // re-added last: the most recently reserved
      counts.set(device, {
        count: number,
        at: now,
        ...(number >= attempts && { holdUntil: now + blockMs }),
      });
      if (counts.size > MAX_TRACKED_NAMES) counts.delete(counts.keys().next().value!);
      return { granted: true, number };
    },

    async succeeded(device: string): Promise<void> {
      counts.delete(device);
      if (await lockouts.until(device) !== undefined) await lockouts.clear(device);
    },

    async failed(device: string, number: number, rules: AttemptRules): Promise<number | undefined> {
      if (number < rules.attempts) return undefined;
      const until = rules.now + rules.blockMs;
      // Durable before the attempt is answered: a restart keeps the block.
      await lockouts.set(device, until);
      counts.delete(device);
      return until;
    },

    recentFailures(limit: number): Promise<FailedLogins[]> {
      const recent: FailedLogins[] = [];
      // The map holds the least recently reserved name first: walk it from the end.
      const entries = [...counts];
      for (let i = entries.length - 1; i >= 0 && recent.length < limit; i--) {
        const [device, { count, at, holdUntil }] = entries[i]!;
        if (holdUntil === undefined) recent.push({ device, failures: count, at });
      }
      return Promise.resolve(recent);
    },
  };
}
