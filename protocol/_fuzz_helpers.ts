/**
 * Helpers shared by the property-based tests of `protocol/`.
 *
 * @module
 */

/** Splits `bytes` at `cuts` (taken modulo its length + 1), empty chunks included. */
export function chunks(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    out.push(bytes.subarray(from, point));
    from = point;
  }
  return out;
}
