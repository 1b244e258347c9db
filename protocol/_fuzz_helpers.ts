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

/** A decoded frame copied out of the decoder's views. */
export type FrameValue =
  | { kind: "message"; body: Uint8Array }
  | { kind: "data"; stream: number; bytes: Uint8Array };

/**
 * Joins runs of data pieces of one stream into one, so that outputs that cut a data
 * payload differently (by chunk, by frame) compare equal: what a stream carries is its
 * bytes in order, not where frames or reads happened to end.
 */
export function joinDataPieces(frames: FrameValue[]): FrameValue[] {
  const out: FrameValue[] = [];
  for (const frame of frames) {
    const last = out.at(-1);
    if (frame.kind === "data" && last?.kind === "data" && last.stream === frame.stream) {
      const bytes = new Uint8Array(last.bytes.length + frame.bytes.length);
      bytes.set(last.bytes);
      bytes.set(frame.bytes, last.bytes.length);
      out[out.length - 1] = { kind: "data", stream: frame.stream, bytes };
    } else {
      out.push(frame);
    }
  }
  return out;
}
