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

/**
 * What the decoder hands out: a whole message frame, or a piece of a data frame's payload.
 * `body` and `bytes` may be views into the chunk passed in.
 */
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
export const DATA_FRAME_HEADER_BYTES: number = LENGTH_BYTES + 1 + STREAM_ID_BYTES;

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

/** Bytes of a frame's head: length, kind and, in a data frame, the stream id. */
const HEAD_BYTES = LENGTH_BYTES + 1 + STREAM_ID_BYTES;

/**
 * Incremental frame decoder: feed it whatever bytes arrived, get back frames. It checks a
 * declared length against the limit before allocating and never allocates per frame:
 *
 * - a **message** frame comes out whole: a view into the chunk when it lies inside it,
 *   else assembled in one of two reusable scratch buffers (grown to the largest message);
 * - a **data** frame's payload comes out in pieces as its bytes arrive, each a view into
 *   the chunk, at least one per frame (empty for an empty payload). Upload bytes are
 *   never copied or buffered here, so a thousand uploading connections hold no frames.
 *
 * So **what it hands out is valid only until the next chunk**; copy what must live longer.
 *
 * Frames are decoded one at a time as the caller takes them, so a bad frame throws where
 * it is found (its length, kind or stream id), after everything before it in the same
 * chunk has been handed out: a request followed by garbage in one TCP segment is still
 * served. After it throws, the stream is out of sync and the connection must be closed.
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
  #max: number;
  /** The head of the frame being read, when it spans chunks. */
  readonly #head = new Uint8Array(HEAD_BYTES);
  #headFill = 0;
  /** The message being assembled across chunks, and how much of it has arrived. */
  #message: Uint8Array | undefined;
  #messageFill = 0;
  /** The data frame being read: its stream and the payload bytes still to come. */
  #stream = 0;
  #dataLeft = 0;
  /**
   * Two scratch buffers, alternated: within one chunk at most one message completes from
   * scratch (at the chunk's start) and at most one new partial message begins (at its
   * end), so the new one never overwrites the one just handed out.
   */
  #scratch: [Uint8Array, Uint8Array] = [new Uint8Array(0), new Uint8Array(0)];
  #scratchIndex = 0;
  /** A chunk is being decoded; still set after one was abandoned or threw. */
  #decoding = false;

  /**
   * Makes a decoder with nothing buffered.
   *
   * @param options the largest frame to accept (default {@linkcode MAX_FRAME_BYTES}).
   */
  constructor(options: FrameDecoderOptions = {}) {
    this.#max = options.maxFrameBytes ?? MAX_FRAME_BYTES;
  }

  /**
   * Largest accepted frame length. It may change between chunks: the server raises it at
   * login. A frame whose length was already accepted is not checked again.
   */
  get maxFrameBytes(): number {
    return this.#max;
  }

  set maxFrameBytes(bytes: number) {
    this.#max = bytes;
  }

  /** True inside a frame; at end of stream that means truncation. */
  get midFrame(): boolean {
    return this.#headFill > 0 || this.#message !== undefined || this.#dataLeft > 0;
  }

  /**
   * Decodes what `chunk` brings, each frame or piece as the caller takes it. Take them
   * all (or until one throws) before passing the next chunk.
   *
   * @param chunk the next bytes from the stream.
   * @returns whole messages and pieces of data frames, in order; none when more bytes
   *   are needed.
   * @throws {FrameTooLargeError} on a declared length over the limit.
   * @throws {ProtocolError} on a zero length, an unknown kind or a short data frame.
   * @throws {Error} when an earlier chunk was not decoded to its end.
   */
  *frames(chunk: Uint8Array): Generator<Frame, void, undefined> {
    if (this.#decoding) {
      throw new Error("FrameDecoder: an earlier chunk was not decoded to its end");
    }
    this.#decoding = true;
    const end = chunk.length;
    let i = 0;
    while (i < end) {
      if (this.#dataLeft > 0) {
        const take = Math.min(this.#dataLeft, end - i);
        this.#dataLeft -= take;
        i += take;
        yield { kind: "data", stream: this.#stream, bytes: chunk.subarray(i - take, i) };
        continue;
      }
      const message = this.#message;
      if (message !== undefined) {
        const take = Math.min(message.length - this.#messageFill, end - i);
        message.set(chunk.subarray(i, i + take), this.#messageFill);
        this.#messageFill += take;
        i += take;
        if (this.#messageFill === message.length) {
          this.#message = undefined;
          yield { kind: "message", body: message };
        }
        continue;
      }
      // At the start of a frame, or inside its head.
      let head: Uint8Array;
      let at: number;
      if (
        this.#headFill === 0 && end - i > LENGTH_BYTES &&
        (chunk[i + LENGTH_BYTES] !== FRAME_KIND.data || end - i >= HEAD_BYTES)
      ) {
        head = chunk; // the head lies inside the chunk: read it in place
        at = i;
      } else {
        i = this.#fillHead(chunk, i);
        if (this.#headFill < this.#headBytes()) continue;
        head = this.#head;
        at = 0;
        this.#headFill = 0;
      }
      const length = this.#checkLength(readU32(head, at));
      const kind = head[at + LENGTH_BYTES]!;
      if (kind === FRAME_KIND.message) {
        const bodyAt = head === chunk ? at + LENGTH_BYTES + 1 : i;
        if (end - bodyAt >= length - 1) {
          i = bodyAt + length - 1;
          yield { kind: "message", body: chunk.subarray(bodyAt, i) };
        } else {
          // Gathered by the branch above, from this chunk on.
          this.#message = this.#scratchOf(length - 1);
          this.#messageFill = 0;
          i = bodyAt;
        }
        continue;
      }
      checkKind(kind, length);
      this.#stream = readU32(head, at + LENGTH_BYTES + 1);
      if (head === chunk) i = at + HEAD_BYTES;
      this.#dataLeft = length - 1 - STREAM_ID_BYTES;
      if (this.#dataLeft === 0) yield { kind: "data", stream: this.#stream, bytes: EMPTY };
    }
    this.#decoding = false;
  }

  /** How long the head being gathered is: length and kind, and for data a stream id. */
  #headBytes(): number {
    return this.#headFill > LENGTH_BYTES && this.#head[LENGTH_BYTES] === FRAME_KIND.data
      ? HEAD_BYTES
      : LENGTH_BYTES + 1;
  }

  /**
   * Gathers head bytes from `chunk` at `i`, checking the length and the kind as soon as
   * each is known (a bad frame fails before the rest of its head arrives).
   *
   * @returns the index after the bytes taken.
   */
  #fillHead(chunk: Uint8Array, i: number): number {
    while (i < chunk.length && this.#headFill < this.#headBytes()) {
      this.#head[this.#headFill++] = chunk[i++]!;
      if (this.#headFill === LENGTH_BYTES) this.#checkLength(readU32(this.#head, 0));
      if (this.#headFill === LENGTH_BYTES + 1) {
        checkKind(this.#head[LENGTH_BYTES]!, readU32(this.#head, 0));
      }
    }
    return i;
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

const EMPTY = new Uint8Array(0);

/** @throws {ProtocolError} for an unknown kind, or a data frame too short for its stream id. */
function checkKind(kind: number, length: number): void {
  if (kind === FRAME_KIND.message) return;
  if (kind !== FRAME_KIND.data) {
    throw new ProtocolError(`unknown frame kind 0x${kind.toString(16).padStart(2, "0")}`);
  }
  if (length < 1 + STREAM_ID_BYTES) {
    throw new ProtocolError("data frame is too short to hold a stream id");
  }
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) +
    bytes[at + 3]!;
}
