/**
 * The iotnet wire protocol, shared by server and edge: framing, messages, codec, limits,
 * and the data-file format. See `docs/PROTOCOL.md`.
 *
 * @module
 */

export { decodeMessage, encodeMessage } from "./codec.ts";
export { compute, type Operation, OPERATIONS } from "./compute.ts";
export {
  AlreadyActiveError,
  BadArgumentsError,
  BadCredentialsError,
  BlockedError,
  BusyError,
  CancelledError,
  ERROR_CLASSES,
  ERROR_CODES,
  type ErrorCode,
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
  type RequestErrorClass,
  requestErrorOf,
  RequestTimeoutError,
  SelfTargetError,
  TooLargeError,
  UnsupportedVersionError,
} from "./errors.ts";
export { encodeDataFrame, encodeMessageFrame, type Frame, FrameDecoder } from "./frame.ts";
export * as limits from "./limits.ts";
export type { Message, Op, Push, Request, Response } from "./messages.ts";
export { InvalidSamplesError, type SampleAggregates, SampleAggregator } from "./samples.ts";
