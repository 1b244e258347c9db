/**
 * The iotnet wire protocol, shared by server and edge: framing, messages, codec, limits,
 * and the data-file format. See `docs/PROTOCOL.md`.
 *
 * This entry is for tools that speak the protocol themselves (a test client, a proxy, a
 * fuzzer): the message tables and their types, the pure codec, the incremental frame
 * decoder, the error classes rebuilt from wire codes, the limits a peer must respect,
 * and the sample format with its exact aggregates. A program that only needs an edge
 * connection imports `client/mod.ts` instead.
 *
 * @example A request encoded as a frame and decoded back, fed one byte at a time
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeMessage, encodeMessage, FrameDecoder } from "./mod.ts";
 *
 * const bytes = encodeMessage({ t: "req", id: 1, op: "compute", fileID: 3, operation: "SUM" });
 * const decoder = new FrameDecoder();
 * const received = [];
 * for (const byte of bytes) {
 *   // A frame is valid only until the next chunk: decode it at once.
 *   for (const frame of decoder.frames(Uint8Array.of(byte))) {
 *     if (frame.kind === "message") received.push(decodeMessage(frame.body));
 *   }
 * }
 * assert.deepEqual(received, [{ t: "req", id: 1, op: "compute", fileID: 3, operation: "SUM" }]);
 * ```
 *
 * @module
 */

export { decodeMessage, encodeMessage } from "./codec.ts";
export { compute, OPERATIONS } from "./compute.ts";
export type { Operation } from "./compute.ts";
export {
  AlreadyActiveError,
  BadArgumentsError,
  BadCredentialsError,
  BlockedError,
  BusyError,
  CancelledError,
  ERROR_CLASSES,
  ERROR_CODES,
  FrameTooLargeError,
  InternalError,
  InvalidDataError,
  IoError,
  NotFoundError,
  NotLoggedInError,
  OfflineError,
  ProtocolError,
  ProtocolViolationError,
  RequestError,
  requestErrorOf,
  RequestTimeoutError,
  SelfTargetError,
  TooLargeError,
  UnavailableError,
  UnsupportedVersionError,
} from "./errors.ts";
export type { ErrorCode, RequestErrorClass } from "./errors.ts";
export {
  DATA_FRAME_HEADER_BYTES,
  encodeDataFrame,
  encodeMessageFrame,
  FrameDecoder,
} from "./frame.ts";
export type { Frame, FrameDecoderOptions } from "./frame.ts";
export {
  DEVICE_NAME_PATTERN,
  deviceNameProblem,
  MAX_FILE_ID,
  MAX_FRAME_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_NAME_BYTES,
  MAX_PASSWORD_BYTES,
  MAX_PRELOGIN_FRAME_BYTES,
  MAX_SAMPLE_DIGITS,
  MAX_SINCE_SECONDS,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
  UPLOAD_CHUNK_BYTES,
} from "./limits.ts";
export { PUSHES, REQUESTS, RESULTS } from "./messages.ts";
export type {
  ErrorResponse,
  Message,
  OkResponse,
  Op,
  Push,
  PushEvent,
  PushFields,
  Request,
  RequestArgs,
  Response,
  ResultFields,
  TransferIntroduction,
} from "./messages.ts";
export { InvalidSamplesError, SampleAggregator } from "./samples.ts";
export type { SampleAggregates } from "./samples.ts";
