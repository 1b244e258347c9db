/**
 * Files for transfer tests: random content, and a digest to compare copies by.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** The SHA-256 of a file, in hex. */
export async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** Writes `bytes` random bytes to `path`. */
export async function randomFile(path: string, bytes: number): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const block = new Uint8Array(65536);
  for (let done = 0; done < bytes; done += block.length) {
    crypto.getRandomValues(block);
    await file.write(block.subarray(0, Math.min(block.length, bytes - done)));
  }
}
