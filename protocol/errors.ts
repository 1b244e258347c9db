/**
 * Error classes of the wire protocol and the stable error codes that travel on it.
 *
 * @module
 */

/** Stable error codes carried in failed responses and in `--json` output (SPEC §5). */
export const ERROR_CODES = [
  "bad_args",
  "bad_credentials",
  "blocked",
  "already_active",
  "not_found",
  "not_logged_in",
  "invalid_data",
  "too_large",
  "offline",
  "self",
  "protocol",
  "unsupported_version",
  "timeout",
  "io",
  "busy",
  "internal",
] as const;

/** One of {@linkcode ERROR_CODES}. */
export type ErrorCode = typeof ERROR_CODES[number];

/** Tells whether a string is a known error code. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

/** Bytes on the wire that do not form a valid frame or message. */
export class ProtocolError extends Error {
  override name = "ProtocolError";
}

/** A frame whose declared length is over the limit; raised before anything is allocated. */
export class FrameTooLargeError extends ProtocolError {
  override name = "FrameTooLargeError";
  /** The length the frame header declared. */
  readonly declared: number;
  /** The limit it broke. */
  readonly limit: number;

  constructor(declared: number, limit: number) {
    super(`frame of ${declared} bytes is over the ${limit}-byte limit`);
    this.declared = declared;
    this.limit = limit;
  }
}

/** A request the server answered with `ok: false`, rebuilt on the client from its code. */
export class RemoteError extends Error {
  override name = "RemoteError";
  /** The stable code from the server. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
