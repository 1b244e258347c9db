/**
 * The receiving half of one UVF transfer as a sans-I/O state machine. The endpoint
 * creates it once the START's ticket is admitted. Events go in (datagrams from the
 * sender, the outcome of each file operation it asked for, timeouts), and
 * {@linkcode ReceiverCore.poll} says what to do next, one {@linkcode ReceiverAction} at
 * a time: create the temporary file, write in-order bytes, commit, send a datagram,
 * report the end, forget the transfer, or wait until a time. At most one file operation
 * is outstanding at a time, and the end is reported only once none is, so whoever hears
 * of a failure never finds a leftover temporary file. The SHA-256 is computed here over
 * the bytes in order. No sockets, files or timers: `incoming_transfer.ts` carries the
 * actions out.
 *
 * States: `opening` → `receiving` → `committing` → `done`; any state → `failed`.
 *
 * Terms (see `sender.ts` for the sender's): **seq** numbers DATA packets; **RCV.NXT**
 * (RFC 9293 §3.3.1) is the next seq expected in order, which an ACK carries as `cum`;
 * **SACK** ranges (RFC 2018) list packets that arrived above it.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { AbortCode, type AbortReason, abortReasonOf } from "./errors.ts";
import { MAX_SACK_RANGES, type P2pLimits } from "./limits.ts";
import { encodePacket, type Packet, type SeqRange } from "./packet.ts";

/** Least time between two repetitions of our ABORT to a sender that keeps sending, ms. */
const ABORT_REPEAT_MS = 50;
/** Bytes of a failure's text that go into the ABORT (below `MAX_REASON_BYTES`). */
const ABORT_TEXT_BYTES = 180;

/** Where a {@linkcode ReceiverCore} is. */
export type ReceiverState = "opening" | "receiving" | "committing" | "done" | "failed";

/** Why a transfer failed: the wire reason and the human text (sent to the peer too). */
export interface ReceiverFailure {
  /** The stable reason. */
  reason: AbortReason;
  /** What happened. */
  message: string;
}

/**
 * What a {@linkcode ReceiverCore} wants done next ({@linkcode ReceiverCore.poll}). An
 * action is valid until the next `poll`: `wait`, which comes for every datagram, is one
 * reused object, so the per-datagram path allocates nothing.
 */
export type ReceiverAction =
  | {
    /** Send `datagram` to the sender. */
    type: "send";
    datagram: Uint8Array;
  }
  | {
    /**
     * Create the temporary file, then call {@linkcode ReceiverCore.opened} (or
     * {@linkcode ReceiverCore.fileOperationFailed}).
     */
    type: "open";
  }
  | {
    /**
     * Append `chunks` to the temporary file, in order, then call
     * {@linkcode ReceiverCore.written} (or {@linkcode ReceiverCore.fileOperationFailed}).
     * The chunks view the core's receive buffer and stay valid until then.
     */
    type: "write";
    chunks: Uint8Array[];
  }
  | {
    /**
     * Every byte is written and the digest matches: make the file durable and give it
     * its final name, then call {@linkcode ReceiverCore.committed} (or
     * {@linkcode ReceiverCore.fileOperationFailed}).
     */
    type: "commit";
  }
  | {
    /** The file is stored with this SHA-256 (and the sender is being told). */
    type: "complete";
    sha256: Uint8Array;
  }
  | {
    /**
     * The transfer failed and no file operation is outstanding: remove the temporary
     * file and report the failure.
     */
    type: "fail";
    failure: ReceiverFailure;
  }
  | {
    /** The transfer ended and lingered long enough: forget it. */
    type: "forget";
  }
  | {
    /**
     * Nothing more to do now: call {@linkcode ReceiverCore.handleTimeout} at `until`
     * (absolute ms) unless another event comes first; `undefined`: no timer.
     */
    type: "wait";
    until: number | undefined;
  };

/** The file operation a {@linkcode ReceiverCore} waits for the outcome of. */
type FileOperation = "open" | "write" | "commit";

/** Options of a {@linkcode ReceiverCore}. */
export interface ReceiverOptions {
  /** The 16-byte transfer id. */
  id: Uint8Array;
  /** Exact file size from the ticket. */
  size: number;
  /** The sender's payload size from START (DATA `seq` starts at byte `seq × payloadBytes`). */
  payloadBytes: number;
  /** The transfer's limits. */
  limits: P2pLimits;
  /** The time the transfer was admitted. */
  now: number;
  /**
   * Packets the receiving socket's kernel buffer holds; the advertised window never
   * exceeds it, so a sender never overflows that buffer by itself (default: no cap).
   */
  kernelWindowPackets?: number;
}

/** Counters of a {@linkcode ReceiverCore}. */
export interface ReceiverStats {
  /** Datagrams handled. */
  datagramsReceived: number;
  /** DATA packets that had arrived before. */
  duplicates: number;
  /** DATA packets dropped for a bad size or sequence number. */
  invalid: number;
  /** ACKs handed out to send. */
  acksSent: number;
  /** File bytes accepted in order. */
  bytesDelivered: number;
}

/** Sans-I/O receiver of one transfer. */
export class ReceiverCore {
  readonly #id: Uint8Array;
  readonly #size: number;
  readonly #payloadBytes: number;
  /** Packets in the file. */
  readonly #packetCount: number;
  readonly #limits: P2pLimits;
  #state: ReceiverState = "opening";
  #failure: ReceiverFailure | undefined;
  /** The file operation handed out whose outcome has not come back. */
  #pendingFileOperation: FileOperation | undefined;
  /** Whether the `complete` or `fail` action was handed out. */
  #endReported = false;
  /** Whether the `forget` action was handed out. */
  #forgotten = false;

  /** RCV.NXT: every seq below it arrived. */
  #rcvNxt = 0;
  // Packets [#packetsWritten, RCV.NXT) (accepted, not yet written) and out-of-order
  // arrivals up to #packetsWritten + #ringPackets live in a ring of payloads (slot
  // seq % #ringPackets), so nothing is allocated per packet and in-order bytes leave as
  // a few large views.
  readonly #ringPackets: number;
  #ring: Uint8Array;
  /** 1 where an out-of-order packet is buffered (slot seq % #ringPackets). */
  #outOfOrder: Uint8Array;
  #outOfOrderCount = 0;
  /** Packets handed out in `write` actions; those beyond `#packetsWritten` are being written. */
  #packetsHandedOut = 0;
  /** Packets written to the temporary file. */
  #packetsWritten = 0;
  /** Packets already fed to the hash. */
  #packetsHashed = 0;
  #hash: Hash = createHash("sha256");
  #digest: Uint8Array | undefined;
  /** The SHA-256 the sender's FIN claims. */
  #senderDigest: Uint8Array | undefined;

  readonly #maxAdvertisedWindow: number;
  readonly #ackEveryPackets: number;
  /** An ACK is due at the next `poll`. */
  #ackDueNow = false;
  /** When the delayed ACK for in-order packets is due. */
  #delayedAckAt: number | undefined;
  #packetsSinceAck = 0;
  #lastAdvertisedWindow = 0;
  /** Datagrams decided outside `poll` (ABORT, FIN_ACK), sent before anything else. */
  #outbox: Uint8Array[] = [];
  /** The `wait` action, reused. */
  readonly #wait: Extract<ReceiverAction, { type: "wait" }> = { type: "wait", until: undefined };
  /**
   * When the transfer last moved: opened, a new packet accepted from the sender, or
   * accepted bytes written. Only this holds off the stall timeout: a sender that sends
   * duplicates, invalid or out-of-window DATA, STARTs or early FINs makes no progress.
   */
  #lastProgress: number;
  #endedAt: number | undefined;
  #abortRepeatAt = 0;

  #stats: ReceiverStats = {
    datagramsReceived: 0,
    duplicates: 0,
    invalid: 0,
    acksSent: 0,
    bytesDelivered: 0,
  };

  /**
   * @param options id, size, the sender's payload size, limits and the time.
   * @throws {RangeError} when `payloadBytes` is not a positive integer.
   */
  constructor(options: ReceiverOptions) {
    if (!Number.isInteger(options.payloadBytes) || options.payloadBytes < 1) {
      throw new RangeError(
        `payloadBytes must be a positive integer, got ${options.payloadBytes}`,
      );
    }
    const limits = options.limits;
    this.#id = options.id;
    this.#size = options.size;
    this.#payloadBytes = options.payloadBytes;
    this.#packetCount = Math.ceil(options.size / options.payloadBytes);
    this.#limits = limits;
    this.#lastProgress = options.now;
    this.#ringPackets = Math.max(1, Math.min(this.#packetCount, limits.windowPackets));
    this.#maxAdvertisedWindow = Math.max(
      1,
      Math.min(limits.windowPackets, options.kernelWindowPackets ?? Infinity),
    );
    // Delayed ACKs every N in-order packets, but at least four per (largest) window so a
    // sender limited by it never waits for the ACK timer.
    this.#ackEveryPackets = Math.max(
      1,
      Math.min(limits.ackEveryPackets, Math.floor(this.#maxAdvertisedWindow / 4)),
    );
    this.#ring = new Uint8Array(this.#ringPackets * this.#payloadBytes);
    this.#outOfOrder = new Uint8Array(this.#ringPackets);
  }

  /** Current state. */
  get state(): ReceiverState {
    return this.#state;
  }
  /** Why it failed, once `state` is `failed`. */
  get failure(): ReceiverFailure | undefined {
    return this.#failure;
  }
  /** Counters. */
  get stats(): Readonly<ReceiverStats> {
    return this.#stats;
  }
  /** SHA-256 of the received bytes, once all arrived. */
  get sha256(): Uint8Array | undefined {
    return this.#digest;
  }
  /** Whether the transfer has ended (done or failed). */
  get ended(): boolean {
    return this.#state === "done" || this.#state === "failed";
  }
  /** Packets the sender may still send beyond RCV.NXT. */
  get window(): number {
    const room = this.#limits.windowPackets - this.#outOfOrderCount -
      (this.#rcvNxt - this.#packetsWritten);
    return Math.max(0, Math.min(this.#maxAdvertisedWindow, room));
  }

  // ---------------------------------------------------------------- events

  /**
   * The temporary file is open (the `open` action succeeded): accept the transfer (an
   * ACK tells the sender).
   *
   * @param now the current time.
   */
  opened(now: number): void {
    if (!this.#settle("open") || this.#state !== "opening") return;
    this.#state = "receiving";
    this.#lastProgress = now;
    this.#ackDueNow = true;
    this.#maybeComplete();
  }

  /**
   * The chunks of the last `write` action are written: reopen the window.
   *
   * @param now the current time.
   */
  written(now: number): void {
    if (!this.#settle("write") || this.ended) return;
    // Hash before the ring slots can be reused.
    this.#hashUpTo(this.#packetsHandedOut);
    this.#packetsWritten = this.#packetsHandedOut;
    this.#lastProgress = now;
    // Window update: tell a sender that saw a nearly closed window that it reopened.
    if (
      this.#lastAdvertisedWindow < this.#maxAdvertisedWindow / 4 &&
      this.window >= this.#maxAdvertisedWindow / 2
    ) {
      this.#ackDueNow = true;
    }
    this.#maybeComplete();
  }

  /**
   * The file is durable under its final name (the `commit` action succeeded): confirm
   * to the sender.
   *
   * @param now the current time.
   */
  committed(now: number): void {
    if (!this.#settle("commit") || this.#state !== "committing") return;
    this.#state = "done";
    this.#endedAt = now;
    this.#queueFinAck();
  }

  /**
   * The file operation handed out last (`open`, `write` or `commit`; there is only ever
   * one) failed: the transfer fails.
   *
   * @param reason wire reason (`unwritable`, `disk_full`).
   * @param message what happened, sent to the sender too.
   * @param now the current time.
   */
  fileOperationFailed(reason: AbortReason, message: string, now: number): void {
    if (this.#pendingFileOperation === undefined) return;
    this.#pendingFileOperation = undefined;
    this.fail(reason, message, now);
  }

  /** The outcome of `operation` came back: whether it was the one outstanding. */
  #settle(operation: FileOperation): boolean {
    if (this.#pendingFileOperation !== operation) return false;
    this.#pendingFileOperation = undefined;
    return true;
  }

  /**
   * Fails the transfer; an ABORT with `reason` tells the sender.
   *
   * @param reason wire reason.
   * @param message human text sent to the sender too.
   * @param now the current time.
   */
  fail(reason: AbortReason, message: string, now: number): void {
    if (this.ended) return;
    this.#end({ reason, message }, now);
    this.#queueAbort(now);
  }

  /**
   * Takes one datagram from the sender (decoded and matched to this transfer).
   *
   * @param packet the packet.
   * @param now the current time.
   */
  handle(packet: Packet, now: number): void {
    this.#stats.datagramsReceived++;
    if (this.#state === "failed") {
      if (packet.type !== "abort") this.#queueAbort(now);
      return;
    }
    switch (packet.type) {
      case "start":
        // A repeated START: our accepting ACK was lost.
        if (this.#state === "receiving") this.#ackDueNow = true;
        break;
      case "data":
        if (this.#state === "receiving") {
          this.#onData(packet.seq, packet.payload, now, packet.ackNow === true);
        }
        break;
      case "fin":
        if (this.#state === "done") {
          this.#queueFinAck();
        } else if (this.#state === "receiving") {
          if (this.#rcvNxt < this.#packetCount) {
            this.#ackDueNow = true; // FIN before all data: the sender is confused; re-ack
          } else {
            this.#senderDigest = packet.sha256;
            this.#maybeComplete();
          }
        }
        break;
      case "abort": {
        const reason = abortReasonOf(packet.code) ?? "cancelled";
        this.#end({
          reason,
          message: packet.reason || `the sender ended the transfer (${reason})`,
        }, now);
        break;
      }
      default:
        break;
    }
  }

  /**
   * Fast path for one DATA datagram: the same as {@linkcode handle} with a decoded
   * `data` packet, but `payload` may view a reused receive buffer (it is copied).
   *
   * @param seq the packet's sequence number.
   * @param payload its payload.
   * @param now the current time.
   * @param ackNow the sender asked for an immediate ACK.
   */
  handleData(seq: number, payload: Uint8Array, now: number, ackNow = false): void {
    this.#stats.datagramsReceived++;
    if (this.#state === "failed") {
      this.#queueAbort(now);
      return;
    }
    if (this.#state === "receiving") this.#onData(seq, payload, now, ackNow);
  }

  /**
   * Runs expired timers: the stall timeout fails the transfer (reason `stalled`) when
   * no new bytes came from the sender for `stallTimeoutMs` (anything else it sends does
   * not count), none are waiting to be written and the file is not being committed.
   * (The delayed ACK and the end of the linger come out of {@linkcode poll}.)
   *
   * @param now the current time.
   */
  handleTimeout(now: number): void {
    if (!this.#stallTimerRuns) return;
    if (now >= this.#lastProgress + this.#limits.stallTimeoutMs) {
      this.fail(
        "stalled",
        `no new data from the sender for ${this.#limits.stallTimeoutMs / 1000} s`,
        now,
      );
    }
  }

  // ---------------------------------------------------------------- actions

  /**
   * What to do next. Call after every event until it returns `wait`; each call hands
   * out one action and the core assumes it is carried out.
   *
   * @param now the current time.
   * @returns the next action; `wait` when there is nothing to do until a time.
   */
  poll(now: number): ReceiverAction {
    const queued = this.#outbox.shift();
    if (queued) return { type: "send", datagram: queued };
    const operation = this.#dueFileOperation();
    if (operation) return operation;
    if (!this.#endReported && this.ended && this.#pendingFileOperation === undefined) {
      this.#endReported = true;
      return this.#state === "done"
        ? { type: "complete", sha256: this.#digest! }
        : { type: "fail", failure: this.#failure! };
    }
    if (this.#ackDue(now)) return { type: "send", datagram: this.#ack() };
    if (this.#endReported && !this.#forgotten && now >= this.#endedAt! + this.#limits.lingerMs) {
      this.#forgotten = true;
      return { type: "forget" };
    }
    this.#wait.until = this.#nextDeadline();
    return this.#wait;
  }

  /** The file operation to hand out now, if any (one at a time). */
  #dueFileOperation(): ReceiverAction | undefined {
    if (this.#pendingFileOperation !== undefined) return undefined;
    switch (this.#state) {
      case "opening":
        this.#pendingFileOperation = "open";
        return { type: "open" };
      case "receiving":
      case "committing":
        if (this.#packetsHandedOut < this.#rcvNxt) {
          this.#pendingFileOperation = "write";
          return { type: "write", chunks: this.#handOut() };
        }
        if (this.#state === "committing") {
          this.#pendingFileOperation = "commit";
          return { type: "commit" };
        }
        return undefined;
      default:
        return undefined;
    }
  }

  #ackDue(now: number): boolean {
    if (this.#state !== "receiving" && this.#state !== "committing") return false;
    return this.#ackDueNow || (this.#delayedAckAt !== undefined && now >= this.#delayedAckAt);
  }

  #ack(): Uint8Array {
    this.#ackDueNow = false;
    this.#delayedAckAt = undefined;
    this.#packetsSinceAck = 0;
    this.#lastAdvertisedWindow = this.window;
    this.#stats.acksSent++;
    return encodePacket({
      type: "ack",
      id: this.#id,
      cum: this.#rcvNxt,
      window: this.#lastAdvertisedWindow,
      dups: this.#stats.duplicates,
      ranges: this.#sackRanges(),
    });
  }

  /** When `handleTimeout` (or `poll`) next has work, if ever without another event. */
  #nextDeadline(): number | undefined {
    if (this.ended) {
      // A failure waits for the outstanding file operation, not for the clock.
      if (!this.#endReported || this.#forgotten) return undefined;
      return this.#endedAt! + this.#limits.lingerMs;
    }
    let t = this.#stallTimerRuns ? this.#lastProgress + this.#limits.stallTimeoutMs : Infinity;
    if (this.#delayedAckAt !== undefined && this.#delayedAckAt < t) t = this.#delayedAckAt;
    return t === Infinity ? undefined : t;
  }

  /**
   * Whether the stall timeout runs: not once ended, nor while the file is committed, nor
   * while accepted bytes wait for the disk (the sender is not the one stalling then).
   */
  get #stallTimerRuns(): boolean {
    return !this.ended && this.#state !== "committing" &&
      this.#packetsWritten === this.#rcvNxt;
  }

  // ---------------------------------------------------------------- data

  #expectedLength(seq: number): number {
    return seq < this.#packetCount - 1
      ? this.#payloadBytes
      : this.#size - (this.#packetCount - 1) * this.#payloadBytes;
  }

  #onData(seq: number, payload: Uint8Array, now: number, ackNow: boolean): void {
    if (seq >= this.#packetCount || payload.length !== this.#expectedLength(seq)) {
      this.#stats.invalid++;
      return;
    }
    const ringPackets = this.#ringPackets;
    if (
      seq < this.#rcvNxt ||
      (seq < this.#packetsWritten + ringPackets && this.#outOfOrder[seq % ringPackets] === 1)
    ) {
      this.#stats.duplicates++;
      this.#ackDueNow = true;
      return;
    }
    if (
      this.#outOfOrderCount + (this.#rcvNxt - this.#packetsWritten) >=
        this.#limits.windowPackets ||
      seq >= this.#rcvNxt + this.#limits.windowPackets ||
      seq >= this.#packetsWritten + ringPackets
    ) {
      this.#ackDueNow = true; // beyond our buffer (a window probe): drop, re-advertise
      return;
    }
    this.#ring.set(payload, (seq % ringPackets) * this.#payloadBytes);
    this.#lastProgress = now;
    if (seq !== this.#rcvNxt) {
      this.#outOfOrder[seq % ringPackets] = 1;
      this.#outOfOrderCount++;
      this.#ackDueNow = true; // out of order: ack at once so the sender sees the gap
      return;
    }
    const filledGap = this.#outOfOrderCount > 0;
    this.#accept(payload.length);
    while (this.#outOfOrderCount > 0 && this.#outOfOrder[this.#rcvNxt % ringPackets] === 1) {
      this.#outOfOrder[this.#rcvNxt % ringPackets] = 0;
      this.#outOfOrderCount--;
      this.#accept(this.#expectedLength(this.#rcvNxt));
    }
    if (filledGap || ackNow || this.#rcvNxt >= this.#packetCount) this.#ackDueNow = true;
    else if (++this.#packetsSinceAck >= this.#ackEveryPackets) this.#ackDueNow = true;
    else if (this.#delayedAckAt === undefined) {
      this.#delayedAckAt = now + this.#limits.ackDelayMs;
    }
    this.#maybeComplete();
  }

  #accept(bytes: number): void {
    this.#rcvNxt++;
    this.#stats.bytesDelivered += bytes;
  }

  /** The accepted packets not yet handed out, as at most two views (where the ring wraps). */
  #handOut(): Uint8Array[] {
    const chunks: Uint8Array[] = [];
    const ringPackets = this.#ringPackets;
    while (this.#packetsHandedOut < this.#rcvNxt) {
      const first = this.#packetsHandedOut;
      const count = Math.min(this.#rcvNxt - first, ringPackets - (first % ringPackets));
      chunks.push(this.#view(first, count));
      this.#packetsHandedOut += count;
    }
    return chunks;
  }

  /** The bytes of packets [first, first + count), which must not wrap in the ring. */
  #view(first: number, count: number): Uint8Array {
    const start = (first % this.#ringPackets) * this.#payloadBytes;
    let bytes = count * this.#payloadBytes;
    if (first + count === this.#packetCount) {
      bytes -= this.#packetCount * this.#payloadBytes - this.#size;
    }
    return this.#ring.subarray(start, start + bytes);
  }

  /** Feeds packets [#packetsHashed, upTo) to the SHA-256 in large pieces. */
  #hashUpTo(upTo: number): void {
    const ringPackets = this.#ringPackets;
    while (this.#packetsHashed < upTo) {
      const first = this.#packetsHashed;
      const count = Math.min(upTo - first, ringPackets - (first % ringPackets));
      this.#hash.update(this.#view(first, count));
      this.#packetsHashed += count;
    }
  }

  /** Once every packet arrived: the digest; once also written and claimed: commit. */
  #maybeComplete(): void {
    if (this.#state !== "receiving" || this.#rcvNxt < this.#packetCount) return;
    if (!this.#digest) {
      this.#hashUpTo(this.#packetCount);
      this.#digest = new Uint8Array(this.#hash.digest());
    }
    if (!this.#senderDigest || this.#packetsWritten < this.#packetCount) return;
    if (!equalBytes(this.#senderDigest, this.#digest)) {
      this.fail(
        "digest_mismatch",
        "SHA-256 of the received bytes does not match the sender's",
        this.#lastProgress,
      );
      return;
    }
    this.#state = "committing";
  }

  /** The SACK ranges above RCV.NXT, ascending, at most {@linkcode MAX_SACK_RANGES}. */
  #sackRanges(): SeqRange[] {
    const ranges: SeqRange[] = [];
    if (this.#outOfOrderCount === 0) return ranges;
    const ringPackets = this.#ringPackets;
    const has = (seq: number) =>
      seq < this.#packetsWritten + ringPackets && this.#outOfOrder[seq % ringPackets] === 1;
    const limit = this.#rcvNxt + this.#limits.windowPackets;
    let start = -1;
    let seen = 0;
    for (let seq = this.#rcvNxt + 1; seq <= limit && seen < this.#outOfOrderCount; seq++) {
      if (has(seq)) {
        seen++;
        if (start < 0) start = seq;
      } else if (start >= 0) {
        ranges.push({ start, end: seq });
        start = -1;
        if (ranges.length === MAX_SACK_RANGES) return ranges;
      }
    }
    if (start >= 0 && ranges.length < MAX_SACK_RANGES) {
      let end = start;
      while (has(end)) end++;
      ranges.push({ start, end });
    }
    return ranges;
  }

  // ---------------------------------------------------------------- the end

  /** Enters `failed`: frees the buffer (a write in progress keeps its own views alive). */
  #end(failure: ReceiverFailure, now: number): void {
    this.#state = "failed";
    this.#failure = failure;
    this.#endedAt = now;
    this.#ring = new Uint8Array(0);
    this.#outOfOrder = new Uint8Array(0);
    this.#outOfOrderCount = 0;
    this.#packetsHandedOut = this.#packetsWritten = this.#rcvNxt;
  }

  #queueAbort(now: number): void {
    if (!this.#failure || now < this.#abortRepeatAt) return;
    this.#abortRepeatAt = now + ABORT_REPEAT_MS;
    const bytes = new TextEncoder().encode(this.#failure.message);
    const reason = new TextDecoder().decode(bytes.subarray(0, ABORT_TEXT_BYTES))
      .replace(/\uFFFD$/, "");
    this.#outbox.push(
      encodePacket({
        type: "abort",
        id: this.#id,
        code: AbortCode[this.#failure.reason],
        reason,
      }),
    );
  }

  #queueFinAck(): void {
    this.#outbox.push(encodePacket({ type: "fin_ack", id: this.#id, sha256: this.#digest! }));
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
