/**
 * How long the edge waits before each attempt to reconnect (SPEC §1 "Staying connected"):
 * from {@linkcode RECONNECT_FIRST_MS} doubling to {@linkcode RECONNECT_MAX_MS}, with
 * jitter so that the devices a server restart dropped do not all come back in the same
 * instant. A function from attempt number to milliseconds, as redis' `backoff.ts`.
 *
 * @module
 */

/** Wait before the first attempt to reconnect. */
export const RECONNECT_FIRST_MS = 1_000;
/** Longest wait between attempts. */
export const RECONNECT_MAX_MS = 30_000;
/** Share of the wait drawn at random: the wait is 80 % to 100 % of the doubled one. */
const JITTER = 0.2;

/**
 * The wait before attempt `attempt`.
 *
 * @example
 * ```ts
 * import { reconnectDelayMs } from "./reconnect_backoff.ts";
 * import assert from "node:assert/strict";
 * assert.equal(reconnectDelayMs(1, () => 0.999), 1_000);
 * assert.equal(reconnectDelayMs(3, () => 0.5), 3_600);
 * assert.equal(reconnectDelayMs(50, () => 0), 30_000);
 * ```
 *
 * @param attempt 1 for the first attempt after the connection dropped.
 * @param random a source of numbers in [0, 1); `Math.random` unless a test fixes it.
 * @returns milliseconds, never below {@linkcode RECONNECT_FIRST_MS} nor above
 *   {@linkcode RECONNECT_MAX_MS}.
 */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const doubled = RECONNECT_FIRST_MS * 2 ** Math.min(Math.max(attempt - 1, 0), 16);
  const ceiling = Math.min(doubled, RECONNECT_MAX_MS);
  const jittered = Math.round(ceiling * (1 - JITTER * random()));
  return Math.max(RECONNECT_FIRST_MS, jittered);
}
