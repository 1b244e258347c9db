/**
 * Every named limit and timer of the UVF transport, with its default. Documented in
 * `docs/P2P.md` ("Timers and limits").
 *
 * @module
 */

/** Smallest allowed data payload: a START (with its ticket) must fit in one datagram. */
export const MIN_PAYLOAD_BYTES = 1024;
/**
 * Largest allowed data payload: 1424 + 22 DATA header + 26 sealing (packet number,
 * length, tag) = 1472 bytes of UDP payload, + 28 IP/UDP = 1500, a typical path MTU.
 */
export const MAX_PAYLOAD_BYTES = 1424;
/**
 * Largest encoded ticket; every ticket is padded to exactly this before it is sealed,
 * so a START's length says nothing about the file name.
 */
export const MAX_TICKET_BYTES = 512;
/** A sealed ticket in START: 12-byte nonce, the padded ticket encrypted, 16-byte tag. */
export const SEALED_TICKET_BYTES = 12 + MAX_TICKET_BYTES + 16;
/**
 * Packet numbers remembered below the highest one received, per direction of a
 * transfer: one in the window is taken once, one below it is dropped as a replay (a
 * DATA packet lost that long is retransmitted under a new number anyway).
 */
export const TRANSFER_REPLAY_WINDOW = 4096;
/** Largest chat text, in UTF-8 bytes. */
export const MAX_CHAT_TEXT_BYTES = 400;
/**
 * Chat packet numbers remembered below the highest one received, per direction: one in
 * the window is delivered once, one below it is dropped as a replay.
 */
export const CHAT_REPLAY_WINDOW = 64;
/** Largest reason text in an ABORT datagram, in UTF-8 bytes. */
export const MAX_REASON_BYTES = 200;
/** Most SACK ranges one ACK carries. */
export const MAX_SACK_RANGES = 32;
/** Longest stored file name (UTF-8 bytes) after sanitising. */
export const MAX_FILE_NAME_BYTES = 200;
/**
 * Most numbered names (`<name> (1)` ... `<name> (1000)`) a received file tries when its
 * name is taken, before the transfer fails as `unwritable`.
 */
export const MAX_NAME_COUNTER = 1000;
/** Largest file a ticket may announce (2^48 bytes keeps offsets exact in a double). */
export const MAX_FILE_BYTES = 2 ** 48;

/** Default of {@linkcode P2pLimits.maxIncomingTransfersPerSender}: `busy` beyond. */
export const MAX_INCOMING_TRANSFERS_PER_SENDER = 4;

/** Tunable limits and timers; every field has a default in {@linkcode DEFAULT_LIMITS}. */
export interface P2pLimits {
  /** Data bytes per DATA datagram (never exceeded). */
  payloadBytes: number;
  /** RFC 6298 lower bound for the retransmission timeout. */
  minRtoMs: number;
  /** Upper bound for the retransmission timeout after back-off. */
  maxRtoMs: number;
  /** RTO before the first RTT sample (RFC 6298 §2.1 says 1 s). */
  initialRtoMs: number;
  /** Clock granularity G of RFC 6298. */
  clockGranularityMs: number;
  /** A sender that hears nothing from its peer for this long fails with PeerUnreachableError. */
  giveUpMs: number;
  /** A receiver that hears nothing from its sender for this long abandons the transfer. */
  stallTimeoutMs: number;
  /** The receiver's reorder/write buffer in packets; the advertised window never exceeds it. */
  windowPackets: number;
  /**
   * Most packets in flight (the congestion window's ceiling). Below it, loss governs
   * the window; the receiver also caps its advertised window at what its socket's kernel
   * buffer holds (Linux default 208 KiB ≈ 87 datagrams of 1.4 KB, 8 MiB with
   * `socketBufferBytes` granted), so it does not overflow that buffer by itself.
   */
  maxCwndPackets: number;
  /** Congestion window at start, in packets. */
  initialCwndPackets: number;
  /** Congestion window floor, in packets. */
  minCwndPackets: number;
  /** Multiplicative decrease factor applied once per loss episode. */
  lossBeta: number;
  /**
   * The receiver acknowledges at least every this many in-order packets (and at least
   * four times per its largest window).
   */
  ackEveryPackets: number;
  /** ... or this long after an unacknowledged arrival. */
  ackDelayMs: number;
  /** Bytes read from the file per read on the sender. */
  readBlockBytes: number;
  /**
   * Most DATA datagrams handed to the kernel in one send when the socket supports
   * segmentation offload (Linux UDP GSO; each still leaves as its own datagram of at
   * most `payloadBytes` payload). 1 turns batching off.
   */
  segmentsPerSend: number;
  /** Kernel socket buffers to request (capped by `net.core.rmem_max` / `wmem_max`). */
  socketBufferBytes: number;
  /** Concurrent incoming transfers per endpoint. */
  maxIncomingTransfers: number;
  /**
   * Concurrent incoming transfers from one sending device (by the ticket's `from`), so
   * no one sender holds all of {@linkcode P2pLimits.maxIncomingTransfers}.
   */
  maxIncomingTransfersPerSender: number;
  /** How long a finished transfer is remembered to re-acknowledge late FINs. */
  lingerMs: number;
  /** Chat: retransmission interval and how many tries before giving up. */
  chatRetryMs: number;
  /** Chat: tries before `sendChat` rejects. */
  chatTries: number;
}

/** Default limits, tuned for LAN/loopback paths. */
export const DEFAULT_LIMITS: Readonly<P2pLimits> = Object.freeze({
  payloadBytes: 1400,
  minRtoMs: 200,
  maxRtoMs: 8_000,
  initialRtoMs: 1_000,
  clockGranularityMs: 1,
  giveUpMs: 15_000,
  stallTimeoutMs: 30_000,
  windowPackets: 1024,
  maxCwndPackets: 512,
  initialCwndPackets: 32,
  minCwndPackets: 8,
  lossBeta: 0.7,
  ackEveryPackets: 64,
  ackDelayMs: 1,
  readBlockBytes: 1400 * 128,
  segmentsPerSend: 64,
  socketBufferBytes: 4 * 1024 * 1024,
  maxIncomingTransfers: 16,
  maxIncomingTransfersPerSender: MAX_INCOMING_TRANSFERS_PER_SENDER,
  lingerMs: 10_000,
  chatRetryMs: 300,
  chatTries: 8,
});

/**
 * Merges `overrides` over {@linkcode DEFAULT_LIMITS} and checks ranges.
 *
 * @param overrides the fields to change.
 * @returns a complete, validated set of limits.
 * @throws {RangeError} when a value is out of range.
 * @example
 * ```ts
 * import { resolveLimits } from "./limits.ts";
 * const limits = resolveLimits({ payloadBytes: 1200 });
 * console.assert(limits.payloadBytes === 1200);
 * ```
 */
export function resolveLimits(overrides: Partial<P2pLimits> = {}): P2pLimits {
  const l: P2pLimits = { ...DEFAULT_LIMITS, ...overrides };
  if (
    !Number.isInteger(l.payloadBytes) || l.payloadBytes < MIN_PAYLOAD_BYTES ||
    l.payloadBytes > MAX_PAYLOAD_BYTES
  ) {
    throw new RangeError(
      `payloadBytes must be an integer in ${MIN_PAYLOAD_BYTES}..${MAX_PAYLOAD_BYTES}, got ${l.payloadBytes}`,
    );
  }
  for (
    const k of [
      "minRtoMs",
      "maxRtoMs",
      "initialRtoMs",
      "giveUpMs",
      "stallTimeoutMs",
      "windowPackets",
      "maxCwndPackets",
      "initialCwndPackets",
      "minCwndPackets",
      "ackEveryPackets",
      "readBlockBytes",
      "segmentsPerSend",
      "socketBufferBytes",
      "maxIncomingTransfers",
      "maxIncomingTransfersPerSender",
      "chatRetryMs",
      "chatTries",
    ] as const
  ) {
    if (!(l[k] > 0)) throw new RangeError(`${k} must be positive, got ${l[k]}`);
  }
  if (l.minRtoMs > l.maxRtoMs) {
    throw new RangeError(`minRtoMs (${l.minRtoMs}) must not exceed maxRtoMs (${l.maxRtoMs})`);
  }
  if (!(l.lossBeta > 0 && l.lossBeta < 1)) {
    throw new RangeError(`lossBeta must be in (0, 1), got ${l.lossBeta}`);
  }
  if (l.windowPackets > 65_536) throw new RangeError(`windowPackets must be ≤ 65536`);
  return l;
}
