/**
 * Property-based tests of the frame decoder (fast-check). Valid frame streams come back
 * unchanged at every chunking; mutated streams (bit flips, truncation, length-field edits,
 * splices, inserted garbage) give frames, "need more", or a typed error, and agree with a
 * whole-buffer reference decoder. Set `FUZZ_SEED` to replay a run.
 *
 * Inputs in this file: 5,000 valid + 30,000 mutated + 200 oversized = 35,200 (of the over
 * 100,000 across the three `*_fuzz_test.ts` files).
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeMessage, encodeMessage } from "./codec.ts";
import { FrameTooLargeError, ProtocolError } from "./errors.ts";
import {
  encodeDataFrame,
  encodeMessageFrame,
  type Frame,
  FRAME_KIND,
  FrameDecoder,
} from "./frame.ts";
import { MAX_FRAME_BYTES } from "./limits.ts";
import { chunks, type FrameValue, joinDataPieces } from "./_fuzz_helpers.ts";

const VALID_RUNS = 5_000;
const MUTATED_RUNS = 30_000;

const seed = Deno.env.get("FUZZ_SEED");
const fuzz = seed ? { seed: Number(seed) } : {};

function copy(frame: Frame): FrameValue {
  return frame.kind === "message"
    ? { kind: "message", body: frame.body.slice() }
    : { kind: "data", stream: frame.stream, bytes: frame.bytes.slice() };
}

function encode(frame: FrameValue): Uint8Array {
  return frame.kind === "message"
    ? encodeMessageFrame(frame.body)
    : encodeDataFrame(frame.stream, frame.bytes);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Bodies a real peer sends: valid messages, other JSON, and raw bytes. */
const VALID_BODIES = [
  { t: "req", id: 1, op: "hello", protocol: "iotnet", version: 1 },
  { t: "req", id: 2, op: "login", name: "watch1", password: "pässword" },
  { t: "req", id: 3, op: "upload", fileID: 7, bytes: 1024 },
  { t: "res", id: 3, ok: false, error: "not_found", message: "no such file" },
  { t: "push", event: "presence", device: "watch2", state: "online" },
].map((m) => encodeMessage(m as never).subarray(5));

const bodyArb = fc.oneof(
  fc.constantFrom(...VALID_BODIES),
  fc.jsonValue({ maxDepth: 3 }).map((v) => new TextEncoder().encode(JSON.stringify(v))),
  fc.uint8Array({ maxLength: 64 }),
);

const frameArb: fc.Arbitrary<FrameValue> = fc.oneof(
  bodyArb.map((body) => ({ kind: "message" as const, body })),
  fc.record({
    kind: fc.constant("data" as const),
    stream: fc.integer({ min: 0, max: 0xffff_ffff }),
    bytes: fc.uint8Array({ maxLength: 300 }),
  }).map((frame) => ({ ...frame })),
);

/** Cut points that split `length` bytes into chunks (empty chunks included). */
const cutsArb = fc.array(fc.nat(), { maxLength: 12 });

/** What decoding a whole stream gives. */
interface Outcome {
  frames: FrameValue[];
  error?: ProtocolError;
  midFrame: boolean;
}

/** Feeds chunks to a FrameDecoder, copying each frame before the next push. */
function decodeIncrementally(parts: Uint8Array[]): Outcome {
  const decoder = new FrameDecoder();
  const frames: FrameValue[] = [];
  for (const part of parts) {
    try {
      for (const frame of decoder.frames(part)) frames.push(copy(frame));
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return { frames, error, midFrame: false };
    }
  }
  return { frames, midFrame: decoder.midFrame };
}

/**
 * The framing rules of docs/PROTOCOL.md over a whole buffer, written plainly: a length is
 * checked once its 4 bytes are in, a kind (and a data frame's minimum length) once its
 * byte is in; a message is whole or nothing; a data frame gives what of its payload there
 * is once its stream id is in.
 */
function decodeReference(bytes: Uint8Array): Outcome {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: FrameValue[] = [];
  let at = 0;
  while (at < bytes.length) {
    const left = bytes.length - at;
    if (left < 4) return { frames, midFrame: true };
    const length = view.getUint32(at);
    if (length === 0) return { frames, error: new ProtocolError("zero"), midFrame: false };
    if (length > MAX_FRAME_BYTES) {
      return { frames, error: new FrameTooLargeError(length, MAX_FRAME_BYTES), midFrame: false };
    }
    if (left < 5) return { frames, midFrame: true };
    const kind = bytes[at + 4];
    if (kind === FRAME_KIND.message) {
      if (left - 4 < length) return { frames, midFrame: true };
      frames.push({ kind: "message", body: bytes.slice(at + 5, at + 4 + length) });
    } else if (kind === FRAME_KIND.data && length >= 5) {
      if (left < 9) return { frames, midFrame: true };
      const payload = bytes.slice(at + 9, Math.min(bytes.length, at + 4 + length));
      // An empty piece only for an empty payload: nothing has come of a longer one yet.
      if (payload.length > 0 || length === 5) {
        frames.push({ kind: "data", stream: view.getUint32(at + 5), bytes: payload });
      }
      if (left - 4 < length) return { frames, midFrame: true };
    } else {
      return { frames, error: new ProtocolError("kind"), midFrame: false };
    }
    at += 4 + length;
  }
  return { frames, midFrame: false };
}

/** Bytes a decoded outcome covers: heads and bodies of the whole frames and the last part. */
function bytesCovered(frames: FrameValue[]): number {
  return frames.reduce(
    (n, f) => n + (f.kind === "message" ? 5 + f.body.length : 9 + f.bytes.length),
    0,
  );
}

/** A message body must decode to a message or a ProtocolError, nothing else. */
function decodeBody(body: Uint8Array): void {
  try {
    decodeMessage(body);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
  }
}

Deno.test(`valid frame streams decode unchanged at every chunking (${VALID_RUNS} runs)`, () => {
  fc.assert(
    fc.property(fc.array(frameArb, { minLength: 1, maxLength: 8 }), cutsArb, (frames, cuts) => {
      const stream = concat(frames.map(encode));
      const outcome = decodeIncrementally(chunks(stream, cuts));
      assert.equal(outcome.error, undefined);
      assert.equal(outcome.midFrame, false);
      assert.deepEqual(joinDataPieces(outcome.frames), joinDataPieces(frames));
    }),
    { numRuns: VALID_RUNS, ...fuzz },
  );
});

type Mutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "truncate"; keep: number }
  | { op: "length"; at: number; value: number }
  | { op: "splice"; at: number; from: number; to: number }
  | { op: "insert"; at: number; bytes: Uint8Array }
  | { op: "delete"; at: number; count: number };

/** Values that probe the length checks: 0, 1, small, the limit and just over, huge. */
const lengthArb = fc.oneof(
  fc.constantFrom(0, 1, 2, 4, 5, MAX_FRAME_BYTES, MAX_FRAME_BYTES + 1, 0xffff_ffff),
  fc.integer({ min: 0, max: 0xffff_ffff }),
  fc.integer({ min: 0, max: 600 }),
);

/** Byte runs that are not valid UTF-8, and other hostile bytes. */
const garbageArb = fc.oneof(
  fc.constantFrom(
    new Uint8Array([0xff]),
    new Uint8Array([0xc0, 0x80]),
    new Uint8Array([0xed, 0xa0, 0x80]),
    new Uint8Array([0xf4, 0x90, 0x80, 0x80]),
    new Uint8Array([0xe2, 0x82]),
    new Uint8Array([0x00]),
  ),
  fc.uint8Array({ minLength: 1, maxLength: 16 }),
);

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constant("flip" as const),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ op: fc.constant("truncate" as const), keep: fc.nat() }),
  fc.record({ op: fc.constant("length" as const), at: fc.nat(), value: lengthArb }),
  fc.record({ op: fc.constant("splice" as const), at: fc.nat(), from: fc.nat(), to: fc.nat() }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bytes: garbageArb }),
  fc.record({
    op: fc.constant("delete" as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 8 }),
  }),
);

function mutate(input: Uint8Array, mutations: Mutation[]): Uint8Array {
  let bytes: Uint8Array = input.slice();
  for (const m of mutations) {
    const at = "at" in m ? m.at % (bytes.length + 1) : 0;
    switch (m.op) {
      case "flip":
        if (bytes.length > 0) bytes[at % bytes.length]! ^= 1 << m.bit;
        break;
      case "truncate":
        bytes = bytes.slice(0, m.keep % (bytes.length + 1));
        break;
      case "length": {
        const out = concat([bytes.subarray(0, at), new Uint8Array(4), bytes.subarray(at + 4)]);
        new DataView(out.buffer).setUint32(at, m.value);
        bytes = out;
        break;
      }
      case "splice": {
        // Copies a stretch of the stream (often a whole valid frame) somewhere else.
        const from = m.from % (bytes.length + 1);
        const to = from + (m.to % (bytes.length - from + 1));
        bytes = concat([bytes.subarray(0, at), bytes.slice(from, to), bytes.subarray(at)]);
        break;
      }
      case "insert":
        bytes = concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
        break;
      case "delete":
        bytes = concat([bytes.subarray(0, at), bytes.subarray(at + m.count)]);
        break;
    }
  }
  return bytes;
}

Deno.test(`mutated streams give frames, need-more or a typed error, like the reference (${MUTATED_RUNS} runs)`, () => {
  fc.assert(
    fc.property(
      fc.array(frameArb, { minLength: 1, maxLength: 5 }),
      fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
      cutsArb,
      (frames, mutations, cuts) => {
        const stream = mutate(concat(frames.map(encode)), mutations);
        const outcome = decodeIncrementally(chunks(stream, cuts));
        const reference = decodeReference(stream);
        assert.equal(outcome.error?.constructor, reference.error?.constructor);
        assert.equal(outcome.midFrame, reference.midFrame);
        // Everything before a bad frame is handed out, however the stream was cut.
        assert.deepEqual(joinDataPieces(outcome.frames), joinDataPieces(reference.frames));
        if (outcome.error instanceof FrameTooLargeError) {
          assert.equal(outcome.error.limit, MAX_FRAME_BYTES);
          assert.ok(outcome.error.declared > MAX_FRAME_BYTES);
        }
        // Every byte is accounted for: handed out, in the head or message still to come, or
        // in the bad frame.
        const consumed = bytesCovered(reference.frames);
        if (outcome.error !== undefined) assert.ok(consumed < stream.length);
        else if (outcome.midFrame) assert.ok(consumed <= stream.length);
        else assert.equal(consumed, stream.length);
        for (const frame of outcome.frames) if (frame.kind === "message") decodeBody(frame.body);
      },
    ),
    { numRuns: MUTATED_RUNS, ...fuzz },
  );
});

Deno.test("an oversized length is refused as soon as its header is complete, byte by byte", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: MAX_FRAME_BYTES + 1, max: 0xffff_ffff }),
      fc.integer({ min: 0, max: 4 }),
      (length, before) => {
        const decoder = new FrameDecoder();
        for (let i = 0; i < before; i++) {
          assert.equal([...decoder.frames(encodeMessageFrame(new Uint8Array([0x7b])))].length, 1);
        }
        const header = new Uint8Array(4);
        new DataView(header.buffer).setUint32(0, length);
        for (let i = 0; i < 3; i++) {
          assert.deepEqual([...decoder.frames(header.subarray(i, i + 1))], []);
        }
        assert.throws(() => [...decoder.frames(header.subarray(3))], FrameTooLargeError);
      },
    ),
    { numRuns: 200, ...fuzz },
  );
});
