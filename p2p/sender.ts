/**
 * The sending half of one UVF transfer as a sans-I/O state machine. Events go in
 * ({@linkcode SenderCore.handle} a datagram from the peer, {@linkcode SenderCore.push}
 * file bytes, {@linkcode SenderCore.handleTimeout}, {@linkcode SenderCore.cancel}), and
 * {@linkcode SenderCore.poll} says what to do next, one {@linkcode SenderAction} at a
 * time: send bytes, read more of the file, report the end, or wait until a time. No
 * sockets, files or timers: `outgoing_transfer.ts` carries the actions out.
 *
 * States: `starting` (START sent until the receiver's first ACK) → `sending` (sliding
 * window, SACK/RACK loss detection, RFC 6298 RTO) → `finishing` (all data acknowledged;
 * FIN with the SHA-256 until FIN_ACK) → `done`; any state → `failed`.
 *
 * Terms of art, with the meaning they have throughout this file (counted in packets,
 * not bytes):
 *
 * - **seq**: a DATA packet's sequence number; packet `seq` carries the file's bytes from
 *   `seq × payloadBytes`.
 * - **SND.UNA** / **SND.NXT** (RFC 9293 §3.3.1): the oldest seq not yet acknowledged
 *   cumulatively, and the next seq never sent (`#sndUna`, `#sndNxt`).
 * - **SACK** (RFC 2018): the ACK's ranges of packets that arrived above its cumulative
 *   point.
 * - **cwnd** (RFC 5681): the congestion window, packets allowed in flight, kept by
 *   {@linkcode CongestionController}; packets in flight are RFC 6675's _pipe_.
 * - **RTO**, **SRTT** (RFC 6298): the retransmission timeout and the smoothed round-trip
 *   time, kept by {@linkcode RttEstimator}.
 * - **RACK** (RFC 8985): time-based loss detection. A packet is lost once a packet sent
 *   after it was delivered and the reordering window has passed since it was sent.
 *   **TLP**: RACK's tail-loss probe, sent after the probe timeout (**PTO**, §7.2)
 *   without ACK progress.
 * - **Persist probe** (RFC 9293 §3.8.6.1): one packet beyond a zero receive window,
 *   after an RTO, to learn when it reopens.
 *
 * DATA datagrams wait in a ring of ready-made datagrams; the header fields that change
 * per send (type, seq) are written in one place, {@linkcode SenderCore} `#stampData`,
 * right before the datagram leaves.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { CongestionController, Pacer } from "./congestion.ts";
import {
  AbortCode,
  type AbortReason,
  errorFromAbort,
  IntegrityError,
  PeerUnreachableError,
  type TransferError,
} from "./errors.ts";
import type { P2pLimits } from "./limits.ts";
import {
  type AckPacket,
  dataDatagramBytes,
  dataPayload,
  encodePacket,
  initDataDatagram,
  invalidateDatagram,
  type Packet,
  writeDataHeader,
} from "./packet.ts";
import { RttEstimator } from "./rtt.ts";

/** Smallest tail-loss probe timeout (PTO), ms. */
export const MIN_PTO_MS = 5;
/** Tail-loss probes in a row before only the RTO is left. */
export const MAX_PROBES = 2;
/** Least time between two repetitions of our ABORT to a peer that keeps sending, ms. */
const ABORT_REPEAT_MS = 50;

/** Where a {@linkcode SenderCore} is. */
export type SenderState = "starting" | "sending" | "finishing" | "done" | "failed";

/**
 * What a {@linkcode SenderCore} wants done next ({@linkcode SenderCore.poll}). An action
 * is valid until the next `poll`: `send` and `wait`, which come for every datagram, are
 * one reused object each, so the per-datagram path allocates nothing.
 */
export type SenderAction =
  | {
    /** Send `bytes` to the peer. */
    type: "send";
    /**
     * One datagram; or, with `datagrams > 1`, that many DATA datagrams back to back for
     * a socket with segmentation offload to split (each of the transfer's full DATA
     * length but a shorter last one). DATA is a view of the core's ring, refilled once
     * acknowledged: send it at once.
     */
    bytes: Uint8Array;
    /** Datagrams in `bytes`. */
    datagrams: number;
    /** Of those, DATA packets sent before (retransmissions). */
    retransmissions: number;
  }
  | {
    /** Read the next `bytes` bytes of the file and {@linkcode SenderCore.push} them. */
    type: "read";
    bytes: number;
  }
  | {
    /** The receiver confirmed the file with this SHA-256: the transfer succeeded. */
    type: "complete";
    sha256: Uint8Array;
  }
  | {
    /** The transfer failed (the peer was told, where it could be). */
    type: "fail";
    error: TransferError;
  }
  | {
    /**
     * Nothing more to do now: call {@linkcode SenderCore.handleTimeout} at `until`
     * (absolute ms) unless another event comes first; `undefined`: no timer.
     */
    type: "wait";
    until: number | undefined;
  };

/** Options of a {@linkcode SenderCore}. */
export interface SenderOptions {
  /** The 16-byte transfer id (from the ticket). */
  id: Uint8Array;
  /** Canonical ticket bytes. */
  ticket: Uint8Array;
  /** The ticket's 32-byte MAC. */
  mac: Uint8Array;
  /** File size in bytes (as in the ticket). */
  size: number;
  /** The transfer's limits. */
  limits: P2pLimits;
  /** The time the transfer starts. */
  now: number;
}

/** Counters of a {@linkcode SenderCore}. */
export interface SenderStats {
  /** Datagrams handed out to send (START, DATA, FIN, ABORT). */
  datagramsSent: number;
  /** Their bytes. */
  bytesSent: number;
  /** DATA packets sent more than once. */
  retransmits: number;
  /** Retransmission-timer expiries (RFC 6298 §5.4). */
  rtoExpiries: number;
  /** File bytes the receiver has acknowledged. */
  bytesAcked: number;
}

/** Flags of a ring slot (one packet). */
const ACKED = 1;
const LOST = 2;
const IN_FLIGHT = 4;

/** Sans-I/O sender of one transfer. */
export class SenderCore {
  readonly #id: Uint8Array;
  readonly #ticket: Uint8Array;
  readonly #mac: Uint8Array;
  readonly #size: number;
  readonly #limits: P2pLimits;
  readonly #payloadBytes: number;
  /** Packets in the file. */
  readonly #packetCount: number;

  #state: SenderState = "starting";
  #error: TransferError | undefined;
  /** Whether the `complete` or `fail` action was handed out. */
  #endReported = false;
  /** Datagrams decided outside `poll` (an ABORT), sent before anything else. */
  #outbox: Uint8Array[] = [];
  /** The `send` action, reused. */
  readonly #send: Extract<SenderAction, { type: "send" }> = {
    type: "send",
    bytes: new Uint8Array(0),
    datagrams: 0,
    retransmissions: 0,
  };
  /** The `wait` action, reused. */
  readonly #wait: Extract<SenderAction, { type: "wait" }> = { type: "wait", until: undefined };

  #hash: Hash = createHash("sha256");
  #digest: Uint8Array | undefined;
  /** File bytes pushed so far. */
  #bytesPushed = 0;
  /** Bytes asked for by the last `read` action and not pushed yet (0: no read pending). */
  #readPending = 0;
  /** Packets whose datagrams are complete: the next packet to fill is this seq. */
  #packetsPushed = 0;
  /** Bytes already copied into the datagram of seq `#packetsPushed`. */
  #partialBytes = 0;

  // Packets [SND.UNA, #packetsPushed) live in a ring of ready-made DATA datagrams (slot
  // seq % #ringSlots), with their state in typed arrays: no object, Map entry or
  // allocation per packet.
  readonly #ringSlots: number;
  /** Length of a full DATA datagram. */
  readonly #datagramBytes: number;
  #ring: Uint8Array;
  /** Each slot's whole datagram, as a view of the ring. */
  #slotDatagrams: Uint8Array[] = [];
  /** Each slot's payload, as a view of the ring. */
  #slotPayloads: Uint8Array[] = [];
  /** The file's last datagram (shorter than the others when the file ends mid-payload). */
  #lastDatagram: Uint8Array;
  readonly #sentAt: Float64Array;
  /** Position in the global send order, to tell which packets left before a delivered one. */
  readonly #sendOrder: Float64Array;
  /** Times each packet was sent. */
  readonly #sendCount: Uint32Array;
  /** {@linkcode ACKED}, {@linkcode LOST}, {@linkcode IN_FLIGHT}. */
  readonly #slotFlags: Uint8Array;

  #sndUna = 0;
  #sndNxt = 0;
  /** First seq beyond the receiver's advertised window (its `cum + window`). */
  #peerWindowEnd = 0;
  /** Seqs found lost, to resend, ascending (stale entries are skipped). */
  #lostQueue: number[] = [];
  /** Packets sent and neither acknowledged nor found lost (RFC 6675's pipe). */
  #packetsInFlight = 0;
  /** Sends so far: the last one's position in the send order. */
  #sendCounter = 0;
  /** The persist timer expired: the next new packet may go beyond the receive window. */
  #persistProbeDue = false;

  // Per-ACK scratch of #onAck, kept in fields so that no closure or object is made.
  /** Packets newly acknowledged by the ACK being handled. */
  #newlyAcked = 0;
  /** The newly acknowledged packet sent last and only once: the RTT sample (Karn). */
  #rttSampleSeq = -1;
  /** The newly acknowledged packet sent last that RACK may trust. */
  #rackCandidateSeq = -1;

  readonly #rtt: RttEstimator;
  readonly #congestion: CongestionController;
  readonly #pacer: Pacer;
  /** RACK: send order and RTT of the most recently sent packet delivered. */
  #rackSendOrder = -1;
  #rackRtt = 0;
  /** RACK's reordering window multiplier (RFC 8985 §6.2 `reo_wnd_mult`), 1..8. */
  #reorderWindowMultiplier = 1;
  /** Duplicate DATA count the receiver last reported. */
  #peerDuplicates = 0;
  /** When RACK next needs to look for losses (a packet's reordering window ends). */
  #reorderTimerAt: number | undefined;
  #rtoTimerAt: number | undefined;
  /** When the tail-loss probe is due (PTO after the last ACK progress). */
  #probeTimerAt: number | undefined;
  #tailProbesSent = 0;

  #startSentAt: number | undefined;
  #startSends = 0;
  #startDueAt: number;
  #finDueAt: number | undefined;
  #finSends = 0;
  /** When a datagram last came from the peer. */
  #lastHeard: number;
  /** The ABORT that told the peer why we failed, repeated while it keeps sending. */
  #abortDatagram: Uint8Array | undefined;
  #abortRepeatAt = 0;

  #stats: SenderStats = {
    datagramsSent: 0,
    bytesSent: 0,
    retransmits: 0,
    rtoExpiries: 0,
    bytesAcked: 0,
  };

  /** @param options the transfer's id, ticket, size, limits and start time. */
  constructor(options: SenderOptions) {
    const limits = options.limits;
    this.#id = options.id;
    this.#ticket = options.ticket;
    this.#mac = options.mac;
    this.#size = options.size;
    this.#limits = limits;
    this.#payloadBytes = limits.payloadBytes;
    this.#packetCount = Math.ceil(options.size / this.#payloadBytes);
    this.#rtt = new RttEstimator(limits);
    this.#congestion = new CongestionController({
      initialCwnd: limits.initialCwndPackets,
      minCwnd: limits.minCwndPackets,
      maxCwnd: Math.min(limits.maxCwndPackets, limits.windowPackets),
      beta: limits.lossBeta,
    });
    this.#pacer = new Pacer(Math.min(16, limits.maxCwndPackets));
    this.#ringSlots = Math.max(
      1,
      Math.min(this.#packetCount, limits.windowPackets + limits.maxCwndPackets),
    );
    this.#datagramBytes = dataDatagramBytes(this.#payloadBytes);
    this.#ring = new Uint8Array(this.#ringSlots * this.#datagramBytes);
    for (let slot = 0; slot < this.#ringSlots; slot++) {
      const start = slot * this.#datagramBytes;
      const datagram = this.#ring.subarray(start, start + this.#datagramBytes);
      initDataDatagram(datagram, options.id);
      this.#slotDatagrams.push(datagram);
      this.#slotPayloads.push(dataPayload(datagram));
    }
    const lastPayloadBytes = this.#size - (this.#packetCount - 1) * this.#payloadBytes;
    this.#lastDatagram = this.#packetCount === 0
      ? new Uint8Array(0)
      : this.#slotDatagrams[(this.#packetCount - 1) % this.#ringSlots]!
        .subarray(0, dataDatagramBytes(lastPayloadBytes));
    this.#sentAt = new Float64Array(this.#ringSlots);
    this.#sendOrder = new Float64Array(this.#ringSlots);
    this.#sendCount = new Uint32Array(this.#ringSlots);
    this.#slotFlags = new Uint8Array(this.#ringSlots);
    this.#startDueAt = options.now;
    this.#lastHeard = options.now;

    if (options.size === 0) this.#digest = new Uint8Array(this.#hash.digest());
  }

  /** Current state. */
  get state(): SenderState {
    return this.#state;
  }
  /** The failure, once `state` is `failed`. */
  get error(): TransferError | undefined {
    return this.#error;
  }
  /** Counters. */
  get stats(): Readonly<SenderStats> {
    return this.#stats;
  }
  /** The file's SHA-256 once all bytes were pushed. */
  get sha256(): Uint8Array | undefined {
    return this.#digest;
  }
  /** The RTT estimator (read-only use). */
  get rtt(): RttEstimator {
    return this.#rtt;
  }
  /** The congestion controller (read-only use). */
  get congestion(): CongestionController {
    return this.#congestion;
  }
  /** Whether the transfer has ended (done or failed). */
  get ended(): boolean {
    return this.#state === "done" || this.#state === "failed";
  }

  // ---------------------------------------------------------------- events

  /**
   * Feeds the next file bytes, in order: the answer to a `read` action (or fewer bytes,
   * pushed in pieces). The bytes are copied into ready-made datagrams, so the caller
   * may reuse its buffer at once.
   *
   * @param bytes the next bytes of the file.
   * @throws {RangeError} when more bytes than the announced size, or than the ring
   * holds, are pushed.
   */
  push(bytes: Uint8Array): void {
    if (this.ended) return;
    if (this.#bytesPushed + bytes.length > this.#size) {
      throw new RangeError("pushed more bytes than the announced file size");
    }
    const payloadBytes = this.#payloadBytes;
    const packetsAfter = this.#packetsPushed +
      Math.ceil((this.#partialBytes + bytes.length) / payloadBytes);
    if (packetsAfter - this.#sndUna > this.#ringSlots) {
      throw new RangeError("pushed more bytes than a read action asked for");
    }
    this.#readPending = Math.max(0, this.#readPending - bytes.length);
    this.#hash.update(bytes);
    this.#bytesPushed += bytes.length;
    const last = this.#bytesPushed === this.#size;
    let offset = 0;
    while (offset < bytes.length) {
      const slot = this.#packetsPushed % this.#ringSlots;
      if (this.#partialBytes === 0) invalidateDatagram(this.#slotDatagrams[slot]!);
      const n = Math.min(payloadBytes - this.#partialBytes, bytes.length - offset);
      this.#slotPayloads[slot]!.set(bytes.subarray(offset, offset + n), this.#partialBytes);
      this.#partialBytes += n;
      offset += n;
      if (this.#partialBytes === payloadBytes || (last && offset === bytes.length)) {
        this.#seal(slot);
      }
    }
    if (last) this.#digest = new Uint8Array(this.#hash.digest());
  }

  /**
   * Ends the transfer locally (abort signal, the peer blocked, the endpoint closing);
   * an ABORT tells the peer.
   *
   * @param reason wire reason for the peer.
   * @param error what the local caller sees.
   * @param text what the peer is told (at most `MAX_REASON_BYTES`).
   */
  cancel(
    reason: AbortReason,
    error: TransferError,
    text = reason === "cancelled" ? "sender cancelled the transfer" : "",
  ): void {
    if (this.ended) return;
    this.#fail(error, reason, text);
  }

  /**
   * The file could not be read (an I/O error, or it got shorter): the transfer fails
   * with `error` and the peer hears `cancelled`.
   *
   * @param error what the local caller sees.
   */
  readFailed(error: TransferError): void {
    this.#readPending = 0;
    this.cancel("cancelled", error);
  }

  /**
   * Takes one datagram from the peer (already decoded and matched to this transfer).
   *
   * @param packet the packet.
   * @param now the current time.
   */
  handle(packet: Packet, now: number): void {
    if (this.#state === "failed") {
      // The peer has not heard our ABORT: repeat it, though not for every datagram.
      if (packet.type !== "abort" && this.#abortDatagram && now >= this.#abortRepeatAt) {
        this.#abortRepeatAt = now + ABORT_REPEAT_MS;
        this.#outbox.push(this.#abortDatagram);
      }
      return;
    }
    if (this.#state === "done") return;
    switch (packet.type) {
      case "ack":
        this.#lastHeard = now;
        this.#onAck(packet, now);
        break;
      case "fin_ack":
        this.#lastHeard = now;
        if (this.#state !== "finishing" || !this.#digest) return;
        if (!equalBytes(packet.sha256, this.#digest)) {
          this.#fail(
            new IntegrityError("receiver confirmed a different SHA-256; send the file again"),
          );
          return;
        }
        this.#state = "done";
        this.#release();
        break;
      case "abort":
        this.#fail(errorFromAbort(packet.code, packet.reason));
        break;
      default:
        break;
    }
  }

  /**
   * Runs expired timers: give-up, retransmission timeout (RFC 6298 §5.4–5.6), RACK
   * reordering timer, tail-loss probe, persist probe.
   *
   * @param now the current time.
   */
  handleTimeout(now: number): void {
    if (this.ended) return;
    if (now >= this.#lastHeard + this.#limits.giveUpMs) {
      const what = this.#state === "starting" ? "never answered" : "stopped answering";
      this.#fail(
        new PeerUnreachableError(
          `peer ${what} for ${
            this.#limits.giveUpMs / 1000
          } s; check that the receiving device is online and its UDP port is reachable, then try again`,
        ),
        "stalled",
      );
      return;
    }
    if (this.#state !== "sending") return;
    if (this.#reorderTimerAt !== undefined && now >= this.#reorderTimerAt) {
      this.#detectLosses(now);
    }
    if (
      this.#probeTimerAt !== undefined && now >= this.#probeTimerAt &&
      this.#tailProbesSent < MAX_PROBES
    ) {
      this.#probeTimerAt = undefined;
      this.#tailLossProbe();
    }
    if (this.#rtoTimerAt !== undefined && now >= this.#rtoTimerAt) this.#onRto(now);
  }

  // ---------------------------------------------------------------- actions

  /**
   * What to do next. Call after every event until it returns `wait`; each call hands
   * out one action and the core assumes it is carried out.
   *
   * With `maxSegments > 1` (a socket with segmentation offload), new DATA packets may
   * come as one `send` of up to `maxSegments` back-to-back datagrams.
   *
   * @param now the current time.
   * @param maxSegments most datagrams one `send` may carry.
   * @returns the next action; `wait` when there is nothing to do until a time.
   */
  poll(now: number, maxSegments = 1): SenderAction {
    const queued = this.#outbox.shift();
    if (queued) return this.#sendAction(queued, 1, 0);
    if (this.ended) {
      if (this.#endReported) return this.#waitAction(undefined);
      this.#endReported = true;
      return this.#state === "done"
        ? { type: "complete", sha256: this.#digest! }
        : { type: "fail", error: this.#error! };
    }
    if (this.#readPending === 0) {
      const bytes = Math.min(this.#wantBytes(), this.#limits.readBlockBytes);
      if (bytes > 0) {
        this.#readPending = bytes;
        return { type: "read", bytes };
      }
    }
    return this.#transmit(now, maxSegments) ?? this.#waitAction(this.#nextDeadline(now));
  }

  #sendAction(bytes: Uint8Array, datagrams: number, retransmissions: number): SenderAction {
    this.#stats.datagramsSent += datagrams;
    this.#stats.bytesSent += bytes.length;
    const send = this.#send;
    send.bytes = bytes;
    send.datagrams = datagrams;
    send.retransmissions = retransmissions;
    return send;
  }

  #waitAction(until: number | undefined): SenderAction {
    this.#wait.until = until;
    return this.#wait;
  }

  /** The next datagram(s) to send now, if any. */
  #transmit(now: number, maxSegments: number): SenderAction | undefined {
    switch (this.#state) {
      case "starting":
        if (now < this.#startDueAt) return undefined;
        this.#startSends++;
        this.#startSentAt = now;
        if (this.#startSends > 1) this.#rtt.backOff();
        this.#startDueAt = now + this.#rtt.rto;
        return this.#sendAction(
          encodePacket({
            type: "start",
            id: this.#id,
            payloadBytes: this.#payloadBytes,
            ticket: this.#ticket,
            mac: this.#mac,
          }),
          1,
          0,
        );
      case "sending":
        return this.#transmitData(now, maxSegments);
      case "finishing":
        if (this.#finDueAt === undefined || now < this.#finDueAt) return undefined;
        if (this.#finSends++ > 0) this.#rtt.backOff(); // a FIN retransmission: §5.5
        this.#finDueAt = now + this.#rtt.rto;
        return this.#sendAction(
          encodePacket({ type: "fin", id: this.#id, sha256: this.#digest! }),
          1,
          0,
        );
      default:
        return undefined;
    }
  }

  /** Lost packets first, then new ones, within cwnd, the receive window and the pacer. */
  #transmitData(now: number, maxSegments: number): SenderAction | undefined {
    const congestion = this.#congestion;
    this.#pacer.setRate(
      congestion.cwnd,
      this.#rtt.srtt,
      congestion.cwnd < congestion.ssthresh ? 2 : 1.25,
    );
    if (this.#packetsInFlight >= congestion.window && !this.#persistProbeDue) return undefined;
    while (this.#lostQueue.length > 0) {
      const seq = this.#lostQueue[0]!;
      const flags = this.#slotFlags[seq % this.#ringSlots]!;
      if (seq < this.#sndUna || (flags & (ACKED | LOST)) !== LOST) {
        this.#lostQueue.shift();
        continue;
      }
      if (!this.#pacer.canSend(now)) return undefined;
      this.#lostQueue.shift();
      return this.#sendOne(seq, now);
    }
    const seq = this.#sndNxt;
    if (seq >= this.#packetsPushed) return undefined;
    if (seq >= this.#peerWindowEnd && !this.#persistProbeDue) return undefined;
    if (!this.#pacer.canSend(now)) return undefined;
    let count = 1;
    if (maxSegments > 1 && !this.#persistProbeDue) {
      count = Math.min(
        maxSegments,
        this.#packetsPushed - seq,
        this.#peerWindowEnd - seq,
        congestion.window - this.#packetsInFlight,
        this.#ringSlots - (seq % this.#ringSlots), // adjacent in the ring
        this.#pacer.available(now),
      );
    }
    this.#persistProbeDue = false;
    this.#sndNxt += count;
    return count === 1 ? this.#sendOne(seq, now) : this.#sendRun(seq, count, now);
  }

  /** Packet `seq` leaves alone (new, a retransmission or a probe). */
  #sendOne(seq: number, now: number): SenderAction {
    const retransmission = this.#markSent(seq, now);
    const datagram = this.#datagram(seq);
    this.#stampData(datagram, seq, this.#wantsAckNow());
    return this.#sendAction(datagram, 1, retransmission ? 1 : 0);
  }

  /**
   * New packets [seq, seq + count) leave together: their datagrams are adjacent in the
   * ring, so one buffer carries them all for a socket that splits it (segmentation
   * offload).
   */
  #sendRun(seq: number, count: number, now: number): SenderAction {
    const end = seq + count;
    for (let s = seq; s < end; s++) {
      this.#markSent(s, now);
      this.#stampData(this.#datagram(s), s, s === end - 1 && this.#wantsAckNow());
    }
    const first = (seq % this.#ringSlots) * this.#datagramBytes;
    const last = first + (count - 1) * this.#datagramBytes + this.#datagram(end - 1).length;
    return this.#sendAction(this.#ring.subarray(first, last), count, 0);
  }

  /**
   * Writes the per-send header fields of a DATA datagram just before it leaves: the one
   * place they are written (a per-send packet number would go here too).
   */
  #stampData(datagram: Uint8Array, seq: number, ackNow: boolean): void {
    writeDataHeader(datagram, seq, ackNow);
  }

  /**
   * Whether the packet just marked sent should ask for an ACK at once: when cwnd is now
   * full and too small for the receiver's every-N delayed ACKs to come in time (they
   * would wait for its ACK timer). A window limited by the receiver needs no mark: the
   * receiver acks at least four times per window it advertises.
   */
  #wantsAckNow(): boolean {
    const window = this.#congestion.window;
    return this.#lostQueue.length === 0 && this.#packetsInFlight >= window &&
      window < 2 * this.#limits.ackEveryPackets;
  }

  /** Records a send of `seq`; returns whether it was sent before. */
  #markSent(seq: number, now: number): boolean {
    const slot = seq % this.#ringSlots;
    const retransmission = this.#sendCount[slot]! > 0;
    if (retransmission) this.#stats.retransmits++;
    this.#sendCount[slot]!++;
    this.#sentAt[slot] = now;
    this.#sendOrder[slot] = ++this.#sendCounter;
    this.#slotFlags[slot] = (this.#slotFlags[slot]! & ~LOST) | IN_FLIGHT;
    this.#packetsInFlight++;
    this.#pacer.onSend();
    if (this.#rtoTimerAt === undefined) this.#rtoTimerAt = now + this.#rtt.rto; // §5.1
    if (this.#probeTimerAt === undefined) this.#probeTimerAt = now + this.#probeTimeout();
    return retransmission;
  }

  /** Whether a send may be due as soon as the pacer allows. */
  #waitsForPacer(): boolean {
    if (this.#state !== "sending" || this.#packetsInFlight >= this.#congestion.window) {
      return false;
    }
    return this.#lostQueue.length > 0 ||
      (this.#sndNxt < this.#packetsPushed && this.#sndNxt < this.#peerWindowEnd);
  }

  /** The earliest time a timer or the pacer has work. */
  #nextDeadline(now: number): number {
    let t = this.#lastHeard + this.#limits.giveUpMs;
    const sooner = (at: number | undefined) => {
      if (at !== undefined && at < t) t = at;
    };
    if (this.#state === "starting") sooner(this.#startDueAt);
    if (this.#state === "finishing") sooner(this.#finDueAt);
    if (this.#state === "sending") {
      sooner(this.#rtoTimerAt);
      sooner(this.#reorderTimerAt);
      if (this.#tailProbesSent < MAX_PROBES) sooner(this.#probeTimerAt);
      if (this.#waitsForPacer()) sooner(this.#pacer.nextSendTime(now));
      // Zero window with nothing in flight: probe after an RTO (persist timer).
      if (
        this.#packetsInFlight === 0 && this.#lostQueue.length === 0 &&
        this.#sndNxt < this.#packetsPushed && this.#rtoTimerAt === undefined
      ) {
        this.#rtoTimerAt = now + this.#rtt.rto;
        sooner(this.#rtoTimerAt);
      }
    }
    return t;
  }

  // ---------------------------------------------------------------- the ring

  /** File bytes the ring has room for now (a window-bounded read-ahead). */
  #wantBytes(): number {
    if (this.ended || this.#bytesPushed >= this.#size) return 0;
    const room = this.#sndUna + this.#ringSlots - this.#packetsPushed;
    if (room <= 0) return 0;
    return Math.min(
      room * this.#payloadBytes - this.#partialBytes,
      this.#size - this.#bytesPushed,
    );
  }

  /** The datagram of `#packetsPushed` is complete: give its slot fresh state. */
  #seal(slot: number): void {
    this.#sentAt[slot] = 0;
    this.#sendOrder[slot] = 0;
    this.#sendCount[slot] = 0;
    this.#slotFlags[slot] = 0;
    this.#packetsPushed++;
    this.#partialBytes = 0;
  }

  /** The datagram of a pushed `seq` (a view into the ring). */
  #datagram(seq: number): Uint8Array {
    return seq === this.#packetCount - 1
      ? this.#lastDatagram
      : this.#slotDatagrams[seq % this.#ringSlots]!;
  }

  /** Drops the ring once nothing can be sent any more. */
  #release(): void {
    this.#ring = new Uint8Array(0);
    this.#slotDatagrams = [];
    this.#slotPayloads = [];
    this.#lastDatagram = this.#ring;
  }

  #fail(error: TransferError, tellPeer?: AbortReason, text = ""): void {
    this.#state = "failed";
    this.#error = error;
    this.#release();
    this.#lostQueue = [];
    if (tellPeer) {
      this.#abortDatagram = encodePacket({
        type: "abort",
        id: this.#id,
        code: AbortCode[tellPeer],
        reason: text,
      });
      this.#outbox.push(this.#abortDatagram);
    }
  }

  // ---------------------------------------------------------------- acknowledgements

  #onAck(ack: AckPacket, now: number): void {
    if (
      ack.cum > this.#packetCount || (ack.cum > this.#sndNxt && this.#state !== "starting")
    ) return;
    if (this.#state === "starting") {
      this.#state = "sending";
      // Karn: only an unambiguous START gives an RTT sample.
      if (this.#startSends === 1 && this.#startSentAt !== undefined) {
        this.#rtt.sample(now - this.#startSentAt);
      }
    }
    if (ack.cum >= this.#sndUna) {
      this.#peerWindowEnd = ack.window === 0
        ? ack.cum
        : Math.max(this.#peerWindowEnd, ack.cum + ack.window);
    }
    this.#newlyAcked = 0;
    this.#rttSampleSeq = -1;
    this.#rackCandidateSeq = -1;
    // Candidates are read before SND.UNA moves past them (their ring slots stay intact
    // until the next push).
    for (let seq = this.#sndUna; seq < ack.cum; seq++) this.#ackSeq(seq, now);
    for (const range of ack.ranges) {
      const end = Math.min(range.end, this.#sndNxt);
      for (let seq = Math.max(range.start, ack.cum, this.#sndUna); seq < end; seq++) {
        this.#ackSeq(seq, now);
      }
    }
    if (this.#rttSampleSeq >= 0) {
      this.#rtt.sample(now - this.#sentAt[this.#rttSampleSeq % this.#ringSlots]!);
    }
    if (this.#rackCandidateSeq >= 0) {
      const slot = this.#rackCandidateSeq % this.#ringSlots;
      if (this.#sendOrder[slot]! > this.#rackSendOrder) {
        this.#rackSendOrder = this.#sendOrder[slot]!;
        this.#rackRtt = now - this.#sentAt[slot]!;
      }
    }
    const newlyAcked = this.#newlyAcked;
    if (ack.cum > this.#sndUna) this.#sndUna = ack.cum;
    this.#stats.bytesAcked = Math.min(this.#size, this.#sndUna * this.#payloadBytes);
    // Duplicates reported by the receiver after we retransmitted suggest spurious
    // retransmissions from reordering: widen the reordering window (RACK, RFC 8985 §6.2).
    if (ack.dups > this.#peerDuplicates) {
      if (this.#stats.retransmits > 0) {
        this.#reorderWindowMultiplier = Math.min(this.#reorderWindowMultiplier + 1, 8);
      }
      this.#peerDuplicates = ack.dups;
    }
    // Congestion window validation (RFC 7661 in spirit): grow only a window that is in
    // use; a sender held back by the receiver's window or by file reads would otherwise
    // inflate it to its ceiling and later burst.
    if (this.#packetsInFlight + newlyAcked >= this.#congestion.window / 2) {
      this.#congestion.onAck(newlyAcked, this.#sndUna);
    }
    if (newlyAcked > 0) {
      this.#persistProbeDue = false;
      // RFC 6298 §5.3: restart the timer when new data is acknowledged; §5.2: stop it
      // when nothing is outstanding.
      const outstanding = this.#packetsInFlight > 0;
      this.#rtoTimerAt = outstanding ? now + this.#rtt.rto : undefined;
      this.#tailProbesSent = 0;
      this.#probeTimerAt = outstanding ? now + this.#probeTimeout() : undefined;
    }
    this.#detectLosses(now);
    this.#maybeFinish(now);
  }

  /** Marks `seq` acknowledged (cumulatively or by SACK); notes RTT and RACK candidates. */
  #ackSeq(seq: number, now: number): void {
    const slot = seq % this.#ringSlots;
    const flags = this.#slotFlags[slot]!;
    if ((flags & ACKED) !== 0 || this.#sendCount[slot] === 0) return;
    this.#slotFlags[slot] = (flags | ACKED) & ~IN_FLIGHT;
    this.#newlyAcked++;
    if ((flags & IN_FLIGHT) !== 0) this.#packetsInFlight--;
    const order = this.#sendOrder[slot]!;
    const sentOnce = this.#sendCount[slot] === 1;
    if (
      sentOnce &&
      (this.#rttSampleSeq < 0 || order > this.#sendOrder[this.#rttSampleSeq % this.#ringSlots]!)
    ) {
      this.#rttSampleSeq = seq;
    }
    // RACK: a retransmitted packet acked sooner than minRTT after its resend is
    // ambiguous (the ack may be for the original), so it does not advance RACK.
    if (sentOnce || now - this.#sentAt[slot]! >= this.#rtt.minRtt) {
      if (
        this.#rackCandidateSeq < 0 ||
        order > this.#sendOrder[this.#rackCandidateSeq % this.#ringSlots]!
      ) {
        this.#rackCandidateSeq = seq;
      }
    }
  }

  /**
   * The tail-loss probe timeout (PTO, RFC 8985 §7.2): 2·SRTT plus the receiver's ACK
   * delay, at least {@linkcode MIN_PTO_MS}, never beyond the RTO.
   */
  #probeTimeout(): number {
    const srtt = this.#rtt.srtt;
    const pto = srtt === undefined
      ? this.#rtt.rto
      : Math.max(MIN_PTO_MS, 2 * srtt + this.#limits.ackDelayMs);
    return Math.min(pto, this.#rtt.rto);
  }

  /** RACK's reordering window: minRTT/4 (at least the clock's granularity), widened. */
  #reorderWindow(): number {
    const minRtt = this.#rtt.minRtt === Infinity ? 0 : this.#rtt.minRtt;
    const base = Math.max(minRtt / 4, this.#limits.clockGranularityMs) *
      this.#reorderWindowMultiplier;
    return Math.min(base, this.#rtt.srtt ?? base);
  }

  /**
   * RACK: marks lost every packet in flight that left before the last one delivered,
   * once its reordering window has passed; arms the reordering timer for the rest.
   */
  #detectLosses(now: number): void {
    this.#reorderTimerAt = undefined;
    if (this.#rackSendOrder < 0) return;
    const reorderWindow = this.#reorderWindow();
    const flags = this.#slotFlags;
    for (let seq = this.#sndUna; seq < this.#sndNxt; seq++) {
      const slot = seq % this.#ringSlots;
      if ((flags[slot]! & (ACKED | LOST | IN_FLIGHT)) !== IN_FLIGHT) continue;
      if (this.#sendOrder[slot]! >= this.#rackSendOrder) continue;
      const deadline = this.#sentAt[slot]! + this.#rackRtt + reorderWindow;
      if (deadline <= now) {
        this.#markLost(slot, seq);
        this.#congestion.onLoss(seq, this.#sndNxt);
      } else if (this.#reorderTimerAt === undefined || deadline < this.#reorderTimerAt) {
        this.#reorderTimerAt = deadline;
      }
    }
    if (this.#lostQueue.length > 1) this.#lostQueue.sort(ascending);
  }

  /** Takes packet `seq` out of flight and queues it for a resend. */
  #markLost(slot: number, seq: number): void {
    this.#slotFlags[slot] = (this.#slotFlags[slot]! | LOST) & ~IN_FLIGHT;
    this.#packetsInFlight--;
    this.#lostQueue.push(seq);
  }

  /**
   * No ACK for a PTO: resend the newest unacknowledged packet so its SACK lets RACK find
   * earlier losses without waiting for the RTO. Not a congestion signal.
   */
  #tailLossProbe(): void {
    if (this.#lostQueue.length > 0 || this.#packetsInFlight === 0) return;
    for (let seq = this.#sndNxt - 1; seq >= this.#sndUna; seq--) {
      const slot = seq % this.#ringSlots;
      if ((this.#slotFlags[slot]! & (ACKED | IN_FLIGHT)) === IN_FLIGHT) {
        this.#tailProbesSent++;
        this.#markLost(slot, seq);
        this.#lostQueue.sort(ascending);
        return;
      }
    }
  }

  /** The retransmission timer expired (RFC 6298 §5.4–5.6), or the persist timer did. */
  #onRto(now: number): void {
    if (this.#packetsInFlight === 0 && this.#lostQueue.length === 0) {
      // Persist timer: the window is closed; send one packet beyond it as a probe.
      this.#persistProbeDue = this.#sndNxt < this.#packetsPushed;
      this.#rtoTimerAt = undefined;
      return;
    }
    this.#stats.rtoExpiries++;
    this.#rtt.backOff(); // §5.5
    this.#congestion.onRto(this.#sndNxt);
    // Everything in flight is presumed lost; SACKed packets are not resent.
    for (let seq = this.#sndUna; seq < this.#sndNxt; seq++) {
      const slot = seq % this.#ringSlots;
      if ((this.#slotFlags[slot]! & (ACKED | IN_FLIGHT)) === IN_FLIGHT) {
        this.#slotFlags[slot] = (this.#slotFlags[slot]! | LOST) & ~IN_FLIGHT;
        this.#lostQueue.push(seq);
      }
    }
    this.#packetsInFlight = 0;
    this.#lostQueue.sort(ascending);
    this.#rtoTimerAt = now + this.#rtt.rto; // §5.6
    this.#probeTimerAt = undefined;
  }

  #maybeFinish(now: number): void {
    if (this.#state === "sending" && this.#sndUna >= this.#packetCount && this.#digest) {
      this.#state = "finishing";
      this.#finDueAt = now;
      this.#rtoTimerAt = undefined;
      this.#reorderTimerAt = undefined;
    }
  }
}

function ascending(a: number, b: number): number {
  return a - b;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
