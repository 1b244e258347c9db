/**
 * EDG: writes `dataAmount` random integers, one per line, into a data file. Written in
 * blocks through a temporary file renamed into place, so memory stays bounded for any
 * amount and an interrupted run never leaves a half file under the real name.
 *
 * @module
 */

import { writeAll } from "../internal/mod.ts";

/** Smallest generated sample. */
export const SAMPLE_MIN = -1_000_000_000;
/** Largest generated sample. */
export const SAMPLE_MAX = 1_000_000_000;
/** Samples formatted per write. */
const BLOCK_SAMPLES = 65_536;

const encoder = new TextEncoder();

/**
 * Formats `count` random samples as lines.
 *
 * @param random fills an array with random 32-bit values (defaults to the CSPRNG).
 */
export function randomSampleLines(
  count: number,
  random: (values: Uint32Array) => void = fillRandom,
): string {
  const values = new Uint32Array(count * 2);
  random(values);
  const span = SAMPLE_MAX - SAMPLE_MIN + 1;
  const lines = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    // 53 random bits, so the modulo bias is below 2^-22.
    const r = values[2 * i]! * 2 ** 21 + (values[2 * i + 1]! >>> 11);
    lines[i] = String(SAMPLE_MIN + (r % span));
  }
  return lines.join("\n") + "\n";
}

/** The CSPRNG, in the 64 KiB pieces `getRandomValues` allows. */
function fillRandom(values: Uint32Array): void {
  const piece = 65_536 / Uint32Array.BYTES_PER_ELEMENT;
  for (let at = 0; at < values.length; at += piece) {
    crypto.getRandomValues(values.subarray(at, at + piece));
  }
}

/**
 * Writes a data file of `dataAmount` random samples at `path`.
 *
 * @returns the number of bytes written.
 */
export async function generateDataFile(path: string, dataAmount: number): Promise<number> {
  const temp = `${path}.${crypto.randomUUID()}.part`;
  let bytes = 0;
  try {
    using file = await Deno.open(temp, { write: true, createNew: true });
    for (let done = 0; done < dataAmount; done += BLOCK_SAMPLES) {
      const block = encoder.encode(randomSampleLines(Math.min(BLOCK_SAMPLES, dataAmount - done)));
      await writeAll(file, block);
      bytes += block.length;
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  return bytes;
}
