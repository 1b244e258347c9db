/**
 * Error classes of the wire protocol: {@linkcode ProtocolError} for bytes that break it,
 * and one class per stable error code that a failed response carries (`docs/PROTOCOL.md`,
 * "Error codes"). Server handlers throw those classes; the session sends the code the
 * table {@linkcode ERROR_CLASSES} gives for the class; the edge rebuilds the same class
 * from the code ({@linkcode requestErrorOf}), so both sides catch with `instanceof`.
 *
 * @module
 */

/** Bytes on the wire that do not form a valid frame or message. */
export class ProtocolError extends Error {
  /**
   * Makes the error.
   *
   * @param message what about the bytes is wrong.
   * @param options standard `ErrorOptions` (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    // Every subclass is named after itself, for logs and stack traces.
    this.name = new.target.name;
  }
}

/** A frame whose declared length is over the limit; raised before anything is allocated. */
export class FrameTooLargeError extends ProtocolError {
  /** The length the frame header declared. */
  readonly declared: number;
  /** The limit it broke. */
  readonly limit: number;

  /**
   * Makes the error.
   *
   * @param declared the length the frame header declared.
   * @param limit the limit it broke.
   */
  constructor(declared: number, limit: number) {
    super(`frame of ${declared} bytes is over the ${limit}-byte limit`);
    this.declared = declared;
    this.limit = limit;
  }
}

/**
 * A request that failed for a reason the protocol names: the base of one class per
 * {@linkcode ErrorCode}. The message is a sentence for people, saying what happened and
 * what to do; the code comes from the class, through {@linkcode ERROR_CLASSES}.
 */
export abstract class RequestError extends Error {
  /**
   * Makes the error.
   *
   * @param message a sentence for people: what happened and what to do.
   * @param options standard `ErrorOptions` (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    // Every subclass is named after itself, for logs and stack traces.
    this.name = new.target.name;
  }

  /** The stable wire code of this error's class (the nearest one in the table). */
  get code(): ErrorCode {
    for (let c = this.constructor; c !== RequestError; c = Object.getPrototypeOf(c)) {
      const code = CODE_OF_CLASS.get(c);
      if (code !== undefined) return code;
    }
    // Every concrete subclass extends one in the table; the base is abstract.
    return "internal";
  }
}

/** The request's arguments are wrong: malformed, out of range, or not allowed now. */
export class BadArgumentsError extends RequestError {}

/**
 * The name is unknown or the password is wrong (the server does not say which); the
 * caller may ask for the password again.
 */
export class BadCredentialsError extends RequestError {}

/**
 * Refused because of a block: at login, the name is locked out after too many failed
 * logins (try again later); otherwise, the other device has blocked this one.
 */
export class BlockedError extends RequestError {}

/** The name is already logged in from another edge. */
export class AlreadyActiveError extends RequestError {}

/** What the request names does not exist: a file, a device, a message, a chat. */
export class NotFoundError extends RequestError {}

/** The request needs a logged-in device (hello, login and udp_port come first). */
export class NotLoggedInError extends RequestError {}

/** An upload's content is not one integer per line; the message names the line. */
export class InvalidDataError extends RequestError {}

/** Over a size limit (an upload, a message's text); the message names the limit. */
export class TooLargeError extends RequestError {}

/** The device the request names, or the server, cannot be reached now. */
export class OfflineError extends RequestError {}

/** The request names this device itself (a message, a chat or a file to oneself). */
export class SelfTargetError extends RequestError {}

/** The request broke the protocol (a reserved code: the server closes the connection instead). */
export class ProtocolViolationError extends RequestError {}

/** The server speaks another protocol version; the edge program must be updated. */
export class UnsupportedVersionError extends RequestError {}

/** The request took too long (a reserved code: no request has a server-side deadline yet). */
export class RequestTimeoutError extends RequestError {}

/** Reading or writing a file failed (on the server's disk or the edge's). */
export class IoError extends RequestError {}

/** A limit on work in progress is reached (a mailbox, uploads, registrations); try later. */
export class BusyError extends RequestError {}

/** The server failed to carry out the request in a way it did not foresee; see its log. */
export class InternalError extends RequestError {}

/**
 * The server cannot serve this now because the network's shared database is out of its
 * reach (SPEC §9): a node that cannot reach it refuses logins rather than risk a name
 * logged in twice; try again shortly, or through another node.
 */
export class UnavailableError extends RequestError {}

/** The edge's user cancelled the command (Ctrl-C on a running upload); never sent by a server. */
export class CancelledError extends RequestError {}

/** The constructor of a {@linkcode RequestError} class. */
export type RequestErrorClass = new (message: string, options?: ErrorOptions) => RequestError;

/**
 * The one table between stable wire codes and error classes, both ways. Codes are
 * stable: never rename one (they are in `--json` output too).
 */
export const ERROR_CLASSES = {
  bad_args: BadArgumentsError,
  bad_credentials: BadCredentialsError,
  blocked: BlockedError,
  already_active: AlreadyActiveError,
  not_found: NotFoundError,
  not_logged_in: NotLoggedInError,
  invalid_data: InvalidDataError,
  too_large: TooLargeError,
  offline: OfflineError,
  self: SelfTargetError,
  protocol: ProtocolViolationError,
  unsupported_version: UnsupportedVersionError,
  timeout: RequestTimeoutError,
  io: IoError,
  busy: BusyError,
  internal: InternalError,
  cancelled: CancelledError,
  unavailable: UnavailableError,
} as const satisfies Record<string, RequestErrorClass>;

/** A stable error code carried in failed responses and in `--json` output (SPEC §5). */
export type ErrorCode = keyof typeof ERROR_CLASSES;

/** Every {@linkcode ErrorCode}, in the order of the table. */
export const ERROR_CODES = Object.keys(ERROR_CLASSES) as readonly ErrorCode[];

const CODE_OF_CLASS = new Map<unknown, ErrorCode>(
  ERROR_CODES.map((code) => [ERROR_CLASSES[code], code]),
);

/**
 * Tells whether a value is a known error code.
 *
 * @param value anything, usually a field of an untrusted message.
 * @returns whether it is a key of {@linkcode ERROR_CLASSES}.
 */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_CLASSES, value);
}

/**
 * Rebuilds the error a failed response stands for.
 *
 * @example
 * ```ts
 * import { BadCredentialsError, requestErrorOf } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const error = requestErrorOf("bad_credentials", "Invalid name or password.");
 * assert.ok(error instanceof BadCredentialsError);
 * assert.equal(error.code, "bad_credentials");
 * ```
 *
 * @param code the response's `error`.
 * @param message the response's `message`.
 * @param options standard `ErrorOptions` (`cause`).
 * @returns an instance of the code's class.
 */
export function requestErrorOf(
  code: ErrorCode,
  message: string,
  options?: ErrorOptions,
): RequestError {
  return new ERROR_CLASSES[code](message, options);
}
