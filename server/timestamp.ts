/**
 * The timestamp format of the server's text logs (SPEC §2): `d MMMM yyyy HH:mm:ss` in the
 * server's local time zone, e.g. `30 September 2022 10:31:13`.
 *
 * @module
 */

/** Month names of the log format. */
export const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
] as const;

/**
 * Formats milliseconds since the epoch as a log timestamp.
 *
 * @example
 * ```ts
 * import { formatTimestamp } from "./timestamp.ts";
 * import assert from "node:assert/strict";
 * const ms = new Date(2022, 8, 30, 10, 31, 13).getTime();
 * assert.equal(formatTimestamp(ms), "30 September 2022 10:31:13");
 * ```
 */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
