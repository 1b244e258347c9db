/**
 * Writing a whole buffer to something whose `write` may take only part of it (a socket, a
 * file, a pipe): what std's `writeAll` would give if JSR were reachable.
 *
 * @module
 */

/** What {@linkcode writeAll} writes to: the shape of `Deno.Conn`, `Deno.FsFile` and `Deno.stdout`. */
export interface Writer {
  /** Writes some of `bytes` (at least one byte) and resolves with how many. */
  write(bytes: Uint8Array): Promise<number>;
}

/**
 * Writes every byte of `bytes` to `writer`, calling `write` again for whatever a short
 * write left over.
 *
 * @param writer where the bytes go.
 * @param bytes what to write; not copied, so it must not change until this resolves.
 * @throws whatever `writer.write` throws; the bytes before it may have been written.
 * @example
 * ```ts
 * import { writeAll } from "./write_all.ts";
 * import assert from "node:assert/strict";
 * const parts: number[][] = [];
 * // A writer that takes at most two bytes at a time.
 * const writer = {
 *   write: (bytes: Uint8Array) => (parts.push([...bytes.subarray(0, 2)]), Promise.resolve(Math.min(2, bytes.length))),
 * };
 * await writeAll(writer, new Uint8Array([1, 2, 3, 4, 5]));
 * assert.deepEqual(parts, [[1, 2], [3, 4], [5]]);
 * ```
 */
export async function writeAll(writer: Writer, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await writer.write(bytes.subarray(at));
}
