/**
 * Files for transfer tests: random content, a digest to compare copies by, and an upload
 * source over bytes in memory.
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

/** An upload source (`EdgeConnection.upload`'s `read`) over bytes in memory. */
export function memorySource(bytes: Uint8Array): {
  read(buffer: Uint8Array): Promise<number | null>;
} {
  let at = 0;
  return {
    read(buffer: Uint8Array): Promise<number | null> {
      if (at === bytes.length) return Promise.resolve(null);
      const n = Math.min(buffer.length, bytes.length - at);
      buffer.set(bytes.subarray(at, at + n), 0);
      at += n;
      return Promise.resolve(n);
    },
  };
}
