/**
 * The format of the server's event log lines on stdout: every line carries the time in
 * ISO 8601 (UTC), as text (`2026-12-05T08:52:14.123Z watch1 joined ...`, for people and
 * `grep`) or as one JSON object per line (`--log-format json`, for log shippers).
 *
 * @module
 */

/** The formats `--log-format` takes. */
export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

/** A format of the event log. */
export type LogFormat = "text" | "json";

/**
 * Formats one event.
 *
 * @example
 * ```ts
 * import { formatLogLine } from "./log_format.ts";
 * import assert from "node:assert/strict";
 * const at = Date.UTC(2026, 11, 5, 8, 52, 14, 123);
 * assert.equal(formatLogLine("watch1 left", at, "text"), "2026-12-05T08:52:14.123Z watch1 left");
 * assert.equal(
 *   formatLogLine("watch1 left", at, "json"),
 *   '{"time":"2026-12-05T08:52:14.123Z","message":"watch1 left"}',
 * );
 * ```
 *
 * @param message what happened (one line, or a few for a stack trace).
 * @param at when, in milliseconds since the epoch.
 * @param format text or JSON.
 * @returns the line, without its newline.
 */
export function formatLogLine(message: string, at: number, format: LogFormat): string {
  const time = new Date(at).toISOString();
  return format === "json" ? JSON.stringify({ time, message }) : `${time} ${message}`;
}
