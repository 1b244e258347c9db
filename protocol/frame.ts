/**
 * Length-prefixed framing for the iotnet TCP protocol (`docs/PROTOCOL.md` §Framing).
 *
 * ```
 * +----------------+--------+---------------------------+
 * | length: u32 BE | kind u8| payload (length - 1 bytes)|
 * +----------------+--------+---------------------------+
 * ```
 *
 * `length` counts the kind byte and the payload, so it is at least 1 and at most
 * {@linkcode MAX_FRAME_BYTES}. A `message` frame holds one UTF-8 JSON object; a `data`
 * frame holds a u32 BE stream id followed by raw bytes of an upload.
 *
 * @module
 */

import { FrameTooLargeError, ProtocolError } from "./errors.ts";
import { MAX_FRAME_BYTES } from "./limits.ts";

/** Frame kind codes as they appear on the wire. */
export const FRAME_KIND = { message: 0x01, data: 0x02 } as const;

/** Bytes of the length prefix. */
const LENGTH_BYTES = 4;
/** Bytes of the stream id at the front of a data frame's payload. */
const STREAM_ID_BYTES = 4;

/** A decoded frame; `body`/`bytes` may be views into the chunk that was pushed. */
export type Frame =
  | { kind: "message"; body: Uint8Array }
  | { kind: "data"; stream: number; bytes: Uint8Array };

/**
 * Encodes a message frame around an already-serialised JSON body.
 *
 * @param body UTF-8 JSON bytes.
 * @returns the whole frame, header included.
 * @throws {FrameTooLargeError} when the frame would be over {@linkcode MAX_FRAME_BYTES}.
 */
export function encodeMessageFrame(body: Uint8Array): Uint8Array {
  const length = 1 + body.length;
  if (length > MAX_FRAME_BYTES) throw new FrameTooLargeError(length, MAX_FRAME_BYTES);
  const frame = new Uint8Array(LENGTH_BYTES + length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, length);
  frame[LENGTH_BYTES] = FRAME_KIND.message;
  frame.set(body, LENGTH_BYTES + 1);
  return frame;
}

/**
 * Encodes a data frame carrying part of stream `stream`.
 *
 * @param stream the stream id (the id of the request that opened the stream).
 * @param bytes the payload; an empty payload is allowed.
 * @returns the whole frame, header included.
 * @throws {FrameTooLargeError} when the frame would be over {@linkcode MAX_FRAME_BYTES}.
 */
export function encodeDataFrame(stream: number, bytes: Uint8Array): Uint8Array {
  const length = 1 + STREAM_ID_BYTES + bytes.length;
  if (length > MAX_FRAME_BYTES) throw new FrameTooLargeError(length, MAX_FRAME_BYTES);
  const frame = new Uint8Array(LENGTH_BYTES + length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, length);
  frame[LENGTH_BYTES] = FRAME_KIND.data;
  view.setUint32(LENGTH_BYTES + 1, stream);
  frame.set(bytes, LENGTH_BYTES + 1 + STREAM_ID_BYTES);
  return frame;
}

/** Bytes in front of a data frame's payload: length, kind and stream id. */
export const DATA_FRAME_HEADER_BYTES = LENGTH_BYTES + 1 + STREAM_ID_BYTES;

/**
 * Writes a data frame header into the first {@linkcode DATA_FRAME_HEADER_BYTES} of
 * `frame`, for senders that read payload straight into the bytes after it (no copy).
 *
 * @param frame a buffer whose payload already sits at offset `DATA_FRAME_HEADER_BYTES`.
 * @param stream the stream id.
 * @param payloadBytes the payload length.
 * @returns the frame: a view of `frame` of exactly the frame's length.
 * @throws {FrameTooLargeError} when the frame would be over {@linkcode MAX_FRAME_BYTES}.
 */
export function writeDataFrameHeader(
  frame: Uint8Array,
  stream: number,
  payloadBytes: number,
): Uint8Array {
  const length = 1 + STREAM_ID_BYTES + payloadBytes;
  if (length > MAX_FRAME_BYTES) throw new FrameTooLargeError(length, MAX_FRAME_BYTES);
  const view = new DataView(frame.buffer, frame.byteOffset, DATA_FRAME_HEADER_BYTES);
  view.setUint32(0, length);
  view.setUint8(LENGTH_BYTES, FRAME_KIND.data);
  view.setUint32(LENGTH_BYTES + 1, stream);
  return frame.subarray(0, LENGTH_BYTES + length);
}

/** Options of {@linkcode FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Largest accepted frame length; defaults to {@linkcode MAX_FRAME_BYTES}. */
  maxFrameBytes?: number;
}

/**
 * Incremental frame decoder: feed it whatever bytes arrived, get back whole frames. It
 * holds a partial frame itself, checks a declared length against the limit before
 * allocating, and never allocates per frame: a frame that lies wholly inside the chunk
 * is a view into it, and one assembled across chunks is a view into one reusable scratch
 * buffer (grown to the largest frame seen). So **frames are valid only until the next
 * chunk**; copy what must live longer.
 *
 * Frames are decoded one at a time as the caller takes them, so a bad frame throws where
 * it lies, after every good frame before it in the same chunk has been handed out: a
 * request followed by garbage in one TCP segment is still served. After it throws, the
 * stream is out of sync and the connection must be closed.
 *
 * @example
 * ```ts
 * import { encodeMessageFrame, FrameDecoder } from "./frame.ts";
 * import assert from "node:assert/strict";
 * const frame = encodeMessageFrame(new TextEncoder().encode("{}"));
 * const decoder = new FrameDecoder();
 * assert.deepEqual([...decoder.frames(frame.subarray(0, 3))], []);
 * assert.equal([...decoder.frames(frame.subarray(3))].length, 1);
 * ```
 */
export class FrameDecoder {
  readonly #max: number;
  readonly #header = new Uint8Array(LENGTH_BYTES);
  #headerFill = 0;
  #body: Uint8Array | undefined;
  #bodyFill = 0;
  /**
   * Two scratch buffers, alternated: within one chunk at most one frame completes from
   * scratch (at the chunk's start) and at most one new partial frame begins (at its end),
   * so the new one never overwrites the one just handed out.
   */
  #scratch: [Uint8Array, Uint8Array] = [new Uint8Array(0), new Uint8Array(0)];
  #scratchIndex = 0;
  /** A chunk is being decoded; still set after one was abandoned or threw. */
  #decoding = false;

  constructor(options: FrameDecoderOptions = {}) {
    this.#max = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  }

  /** True when part of a frame is buffered; at end of stream that means truncation. */
  get midFrame(): boolean {
    return this.#headerFill > 0 || this.#body !== undefined;
  }

  /**
   * Decodes the frames that `chunk` completes, each as the caller takes it. Take them all
   * (or until one throws) before passing the next chunk.
   *
   * @param chunk the next bytes from the stream.
   * @returns the frames completed, in order; none when more bytes are needed.
   * @throws {FrameTooLargeError} on a declared length over the limit.
   * @throws {ProtocolError} on a zero length, an unknown kind or a short data frame.
   * @throws {Error} when an earlier chunk was not decoded to its end.
   */
  *frames(chunk: Uint8Array): Generator<Frame, void, undefined> {
    if (this.#decoding) {
      throw new Error("FrameDecoder: an earlier chunk was not decoded to its end");
    }
    this.#decoding = true;
    let i = 0;
    while (i < chunk.length) {
      if (this.#body === undefined) {
        if (this.#headerFill === 0 && chunk.length - i >= LENGTH_BYTES) {
          const length = this.#checkLength(readU32(chunk, i));
          i += LENGTH_BYTES;
          if (chunk.length - i >= length) {
            const body = chunk.subarray(i, i + length);
            i += length;
            yield toFrame(body);
            continue;
          }
          this.#body = this.#scratchOf(length);
          this.#bodyFill = 0;
        } else {
          const take = Math.min(LENGTH_BYTES - this.#headerFill, chunk.length - i);
          this.#header.set(chunk.subarray(i, i + take), this.#headerFill);
          this.#headerFill += take;
          i += take;
          if (this.#headerFill < LENGTH_BYTES) break;
          this.#headerFill = 0;
          this.#body = this.#scratchOf(this.#checkLength(readU32(this.#header, 0)));
          this.#bodyFill = 0;
        }
      }
      const body = this.#body;
      const take = Math.min(body.length - this.#bodyFill, chunk.length - i);
      body.set(chunk.subarray(i, i + take), this.#bodyFill);
      this.#bodyFill += take;
      i += take;
      if (this.#bodyFill === body.length) {
        this.#body = undefined;
        yield toFrame(body);
      }
    }
    this.#decoding = false;
  }

  /** `length` bytes of the other scratch buffer, grown (at most to the limit) if needed. */
  #scratchOf(length: number): Uint8Array {
    this.#scratchIndex ^= 1;
    let buffer = this.#scratch[this.#scratchIndex]!;
    if (buffer.length < length) {
      buffer = new Uint8Array(Math.min(this.#max, Math.max(length, buffer.length * 2)));
      this.#scratch[this.#scratchIndex] = buffer;
    }
    return buffer.subarray(0, length);
  }

  #checkLength(length: number): number {
    if (length === 0) throw new ProtocolError("frame of length 0 has no kind byte");
    if (length > this.#max) throw new FrameTooLargeError(length, this.#max);
    return length;
  }
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) +
    bytes[at + 3]!;
}

function toFrame(body: Uint8Array): Frame {
  const kind = body[0];
  if (kind === FRAME_KIND.message) return { kind: "message", body: body.subarray(1) };
  if (kind === FRAME_KIND.data) {
    if (body.length < 1 + STREAM_ID_BYTES) {
      throw new ProtocolError("data frame is too short to hold a stream id");
    }
    return {
      kind: "data",
      stream: readU32(body, 1),
      bytes: body.subarray(1 + STREAM_ID_BYTES),
    };
  }
  throw new ProtocolError(`unknown frame kind 0x${kind!.toString(16).padStart(2, "0")}`);
}
