import assert from "node:assert/strict";
import { FrameTooLargeError, ProtocolError } from "./errors.ts";
import {
  DATA_FRAME_HEADER_BYTES,
  encodeDataFrame,
  encodeMessageFrame,
  type Frame,
  FrameDecoder,
  writeDataFrameHeader,
} from "./frame.ts";
import { type FrameValue, joinDataPieces } from "./_fuzz_helpers.ts";

const text = new TextEncoder();

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Copies frames out of the decoder's views so they survive later chunks. */
function snapshot(frames: Iterable<Frame>): FrameValue[] {
  return [...frames].map((f) =>
    f.kind === "message"
      ? { kind: f.kind, body: f.body.slice() }
      : { kind: f.kind, stream: f.stream, bytes: f.bytes.slice() }
  );
}

const stream = concat(
  encodeMessageFrame(text.encode('{"t":"req","id":1,"op":"devices"}')),
  encodeDataFrame(7, new Uint8Array([1, 2, 3, 4, 5])),
  encodeDataFrame(0xffff_fffe, new Uint8Array(0)),
  encodeMessageFrame(text.encode("{}")),
);
const expected = snapshot(new FrameDecoder().frames(stream));

Deno.test("decoder yields several frames from one chunk", () => {
  assert.equal(expected.length, 4);
  assert.deepEqual(expected[1], {
    kind: "data",
    stream: 7,
    bytes: new Uint8Array([1, 2, 3, 4, 5]),
  });
  assert.deepEqual(expected[2], { kind: "data", stream: 0xffff_fffe, bytes: new Uint8Array() });
});

Deno.test("a data frame across chunks comes out in pieces that view the chunks, none held", () => {
  const decoder = new FrameDecoder();
  const payload = new Uint8Array(1000).map((_, i) => i % 251);
  const frame = encodeDataFrame(3, payload);
  const pieces: Uint8Array[] = [];
  for (const [from, to] of [[0, 6], [6, 400], [400, 1009]] as const) {
    const chunk = frame.slice(from, to);
    for (const f of decoder.frames(chunk)) {
      assert.ok(f.kind === "data" && f.stream === 3);
      assert.equal(f.bytes.buffer, chunk.buffer, "a view into the chunk, not a copy");
      pieces.push(f.bytes.slice());
    }
    assert.equal(decoder.midFrame, to < frame.length);
  }
  assert.deepEqual(pieces.map((p) => p.length), [391, 609]);
  assert.deepEqual(joinDataPieces(pieces.map((bytes) => ({ kind: "data", stream: 3, bytes }))), [
    { kind: "data", stream: 3, bytes: payload },
  ]);
});

Deno.test("a bad kind or a short data frame fails as soon as its head arrives", () => {
  // Only 5 of the declared 1,000 bytes have come: the kind byte is enough to refuse them.
  assert.throws(
    () => [...new FrameDecoder().frames(new Uint8Array([0, 0, 3, 0xe8, 0x07]))],
    /unknown frame kind 0x07/,
  );
  assert.throws(
    () => [...new FrameDecoder().frames(new Uint8Array([0, 0, 0, 4, 0x02]))],
    /too short to hold a stream id/,
  );
});

Deno.test("decoder gives the same frames for a stream split at every byte boundary", () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const decoder = new FrameDecoder();
    const frames = [
      ...snapshot(decoder.frames(stream.slice(0, cut))),
      ...snapshot(decoder.frames(stream.slice(cut))),
    ];
    assert.deepEqual(joinDataPieces(frames), expected, `split at ${cut}`);
    assert.equal(decoder.midFrame, false);
  }
});

Deno.test("decoder gives the same frames for a stream cut into three at every pair of points", () => {
  // A middle chunk can finish one frame and start another: the first must stay intact.
  for (let a = 0; a <= stream.length; a++) {
    for (let b = a; b <= stream.length; b++) {
      const decoder = new FrameDecoder();
      const frames = [stream.slice(0, a), stream.slice(a, b), stream.slice(b)]
        .flatMap((chunk) => snapshot(decoder.frames(chunk)));
      assert.deepEqual(joinDataPieces(frames), expected, `cuts at ${a} and ${b}`);
    }
  }
});

Deno.test("decoder gives the same frames when fed one byte at a time", () => {
  const decoder = new FrameDecoder();
  const frames: FrameValue[] = [];
  for (let i = 0; i < stream.length; i++) {
    frames.push(...snapshot(decoder.frames(stream.slice(i, i + 1))));
  }
  assert.deepEqual(joinDataPieces(frames), expected);
});

Deno.test("decoder reports a truncated tail as midFrame", () => {
  const decoder = new FrameDecoder();
  assert.equal([...decoder.frames(stream.slice(0, stream.length - 1))].length, 3);
  assert.equal(decoder.midFrame, true);
  const headerOnly = new FrameDecoder();
  assert.deepEqual([...headerOnly.frames(stream.slice(0, 2))], []);
  assert.equal(headerOnly.midFrame, true);
});

Deno.test("decoder refuses a declared length over the limit before allocating", () => {
  const decoder = new FrameDecoder({ maxFrameBytes: 100 });
  const header = new Uint8Array([0x7f, 0xff, 0xff, 0xff]);
  assert.throws(() => [...decoder.frames(header)], (e: unknown) => {
    assert.ok(e instanceof FrameTooLargeError);
    assert.equal(e.declared, 0x7fff_ffff);
    assert.equal(e.limit, 100);
    return true;
  });
});

Deno.test("decoder accepts a frame of exactly the limit", () => {
  const body = new Uint8Array(99);
  const frames = [...new FrameDecoder({ maxFrameBytes: 100 }).frames(encodeMessageFrame(body))];
  assert.equal(frames.length, 1);
});

Deno.test("decoder's limit can be raised between chunks, as the server does at login", () => {
  const decoder = new FrameDecoder({ maxFrameBytes: 100 });
  const big = encodeMessageFrame(new Uint8Array(500).fill(0x20));
  assert.equal([...decoder.frames(encodeMessageFrame(new Uint8Array(99)))].length, 1);
  decoder.maxFrameBytes = 1000;
  assert.equal(decoder.maxFrameBytes, 1000);
  assert.equal([...decoder.frames(big)].length, 1);
  const strict = new FrameDecoder({ maxFrameBytes: 100 });
  assert.throws(() => [...strict.frames(big)], FrameTooLargeError);
});

Deno.test("decoder refuses zero length, unknown kinds and short data frames", () => {
  assert.throws(() => [...new FrameDecoder().frames(new Uint8Array([0, 0, 0, 0]))], ProtocolError);
  assert.throws(
    () => [...new FrameDecoder().frames(new Uint8Array([0, 0, 0, 1, 0x09]))],
    /unknown frame kind 0x09/,
  );
  assert.throws(
    () => [...new FrameDecoder().frames(new Uint8Array([0, 0, 0, 3, 0x02, 0, 0]))],
    /too short to hold a stream id/,
  );
});

Deno.test("decoder hands out every good frame before a bad one in the same chunk", () => {
  const bad = new Uint8Array([0, 0, 0, 1, 0x09]);
  const decoder = new FrameDecoder();
  const taken: unknown[] = [];
  assert.throws(() => {
    for (const frame of decoder.frames(concat(stream, bad, stream))) {
      taken.push(...snapshot([frame]));
    }
  }, /unknown frame kind 0x09/);
  assert.deepEqual(taken, expected);
});

Deno.test("decoder refuses a chunk while an earlier one was left half decoded", () => {
  const decoder = new FrameDecoder();
  for (const _ of decoder.frames(stream)) break;
  assert.throws(() => [...decoder.frames(stream)], /earlier chunk was not decoded to its end/);
});

Deno.test("encoders refuse frames over the limit", () => {
  assert.throws(() => encodeMessageFrame(new Uint8Array(1024 * 1024)), FrameTooLargeError);
  assert.throws(() => encodeDataFrame(1, new Uint8Array(1024 * 1024)), FrameTooLargeError);
});

Deno.test("a header written in place makes the same frame as encodeDataFrame", () => {
  const payload = new Uint8Array([9, 8, 7]);
  const buffer = new Uint8Array(DATA_FRAME_HEADER_BYTES + 10);
  buffer.set(payload, DATA_FRAME_HEADER_BYTES);
  const frame = writeDataFrameHeader(buffer, 42, payload.length);
  assert.deepEqual([...frame], [...encodeDataFrame(42, payload)]);
});
