/**
 * Errors a caller of the UVF transport can catch, and the stable reason codes carried by
 * ABORT datagrams (see `docs/P2P.md`, "ABORT"). Each wire code maps to one class.
 *
 * @module
 */

/** Reason codes carried in ABORT datagrams. Stable: never renumber. */
export const AbortCode = {
  /** The ticket's MAC did not verify or it names another device. */
  bad_ticket: 1,
  /** The ticket's `expiresAt` has passed. */
  expired: 2,
  /** The ticket's transfer id was used before. */
  replayed: 3,
  /** The receiver cannot create or write files in its receive folder. */
  unwritable: 4,
  /** The receiver's disk is full. */
  disk_full: 5,
  /** The whole-file SHA-256 did not match. */
  digest_mismatch: 6,
  /** The sender cancelled. */
  cancelled: 7,
  /** The receiver heard nothing for its stall timeout. */
  stalled: 8,
  /** The peer broke the protocol (bad sizes, sequence numbers out of range). */
  protocol: 9,
  /** The receiver is at its limit of concurrent transfers. */
  busy: 10,
  /** The endpoint is closing. */
  closing: 11,
  /** The peer blocked this device: it ends every transfer and chat with it. */
  blocked: 12,
} as const;

/** One of the {@linkcode AbortCode} names. */
export type AbortReason = keyof typeof AbortCode;

const REASON_BY_CODE = new Map<number, AbortReason>(
  Object.entries(AbortCode).map(([k, v]) => [v, k as AbortReason]),
);

/**
 * Looks up the name of a wire reason code.
 *
 * @param code the byte from an ABORT datagram.
 * @returns the reason name, or `undefined` for an unknown code.
 */
export function abortReasonOf(code: number): AbortReason | undefined {
  return REASON_BY_CODE.get(code);
}

/** Base class of every transfer failure; `reason` is the stable wire reason. */
export class TransferError extends Error {
  /** The stable reason name. */
  readonly reason: AbortReason | "unreachable" | "local_io";
  /**
   * Makes the error.
   *
   * @param reason stable reason name.
   * @param message human text saying what happened and what to do.
   * @param options standard `ErrorOptions` (`cause`).
   */
  constructor(
    reason: AbortReason | "unreachable" | "local_io",
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "TransferError";
    this.reason = reason;
  }
}

/** The peer sent nothing back within the give-up time. */
export class PeerUnreachableError extends TransferError {
  /**
   * Makes the error.
   *
   * @param message what happened and what to do.
   * @param options standard `ErrorOptions` (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super("unreachable", message, options);
    this.name = "PeerUnreachableError";
  }
}

/** The receiver refused the transfer (ticket invalid, expired, reused, or it is busy). */
export class TransferRejectedError extends TransferError {
  /**
   * Makes the error.
   *
   * @param reason wire reason.
   * @param message human text.
   * @param options standard `ErrorOptions` (`cause`).
   */
  constructor(reason: AbortReason, message: string, options?: ErrorOptions) {
    super(reason, message, options);
    this.name = "TransferRejectedError";
  }
}

/** The receiver could not store the file (unwritable folder, disk full). */
export class ReceiverStorageError extends TransferError {
  /**
   * Makes the error.
   *
   * @param reason wire reason.
   * @param message human text.
   * @param options standard `ErrorOptions` (`cause`).
   */
  constructor(reason: AbortReason, message: string, options?: ErrorOptions) {
    super(reason, message, options);
    this.name = "ReceiverStorageError";
  }
}

/** The received bytes did not match the sender's SHA-256. */
export class IntegrityError extends TransferError {
  /**
   * Makes the error.
   *
   * @param message human text.
   * @param options standard `ErrorOptions` (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super("digest_mismatch", message, options);
    this.name = "IntegrityError";
  }
}

/** The transfer was cancelled (locally by an AbortSignal, or by the peer) or stalled. */
export class TransferAbortedError extends TransferError {
  /**
   * Makes the error.
   *
   * @param reason wire reason, or `local_io` for a local read error.
   * @param message human text.
   * @param options standard `ErrorOptions` (`cause`).
   */
  constructor(reason: AbortReason | "local_io", message: string, options?: ErrorOptions) {
    super(reason, message, options);
    this.name = "TransferAbortedError";
  }
}

/**
 * Rebuilds the error a sender should see from a receiver's ABORT datagram.
 *
 * @param code the wire reason code.
 * @param text the receiver's reason text.
 * @returns the matching {@linkcode TransferError} subclass.
 */
export function errorFromAbort(code: number, text: string): TransferError {
  const reason = abortReasonOf(code) ?? "protocol";
  const said = text ? `: ${text}` : "";
  switch (reason) {
    case "bad_ticket":
    case "expired":
    case "replayed":
    case "busy":
      return new TransferRejectedError(
        reason,
        `receiver rejected the transfer (${reason})${said}; ask the server for a new UVF ticket and try again`,
      );
    case "unwritable":
    case "disk_full":
      return new ReceiverStorageError(
        reason,
        `receiver could not store the file (${reason})${said}; the receiving device must free space or fix its receive folder`,
      );
    case "blocked":
      return new TransferAbortedError(
        reason,
        `the receiver stopped the transfer${said || ": it has blocked this device"}`,
      );
    case "digest_mismatch":
      return new IntegrityError(
        `receiver's SHA-256 of the file did not match${said}; send the file again`,
      );
    default:
      return new TransferAbortedError(
        reason,
        `receiver aborted the transfer (${reason})${said}; try again`,
      );
  }
}
