/**
 * Times in machine output and on the wire: ISO 8601 in UTC to the second, with its `Z`
 * offset (SPEC §5: every time in JSON output is ISO 8601), e.g. `2026-12-05T08:52:14Z`.
 *
 * @module
 */

/**
 * Formats milliseconds since the epoch as ISO 8601, UTC, whole seconds.
 *
 * @example
 * ```ts
 * import { isoSeconds } from "./iso_time.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isoSeconds(Date.UTC(2026, 11, 5, 8, 52, 14, 999)), "2026-12-05T08:52:14Z");
 * ```
 *
 * @param ms milliseconds since the Unix epoch.
 * @returns the time as `yyyy-MM-ddTHH:mm:ssZ`.
 * @throws {RangeError} when `ms` is not a time a `Date` can hold.
 */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
