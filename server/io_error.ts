/**
 * File-system errors as the short phrases the server puts in its replies and its log.
 *
 * @module
 */

/**
 * An I/O error as a short phrase; a full disk is named as such.
 *
 * @param error what a file operation threw.
 * @returns the phrase, without a stack.
 * @example
 * ```ts
 * import { describeIoError } from "./io_error.ts";
 * import assert from "node:assert/strict";
 * const full = Object.assign(new Error("No space left on device (os error 28)"), { code: "ENOSPC" });
 * assert.equal(describeIoError(full), "the disk is full (No space left on device (os error 28))");
 * ```
 */
export function describeIoError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "ENOSPC" || code === "EDQUOT" || /no space left|quota exceeded/i.test(message)) {
    return `the disk is full (${message})`;
  }
  return message;
}
