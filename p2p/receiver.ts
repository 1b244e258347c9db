/**
 * The receiving half of one UVF transfer as a sans-I/O state machine. The endpoint
 * creates it once the START's ticket is admitted, opens the temporary file, then calls
 * {@linkcode ReceiverCore.opened}. In-order bytes come out of
 * {@linkcode ReceiverCore.takeData} for the driver to write; {@linkcode ReceiverCore.consumed}
 * reopens the window once they are written. The SHA-256 is computed here over the bytes
 * in order; on a matching FIN the core asks the driver to commit (fsync + rename), and
 * answers FIN_ACK after {@linkcode ReceiverCore.committed}.
 *
 * States: `opening` → `receiving` → `committing` → `done`; any state → `failed`.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { AbortCode, type AbortReason, abortReasonOf } from "./errors.ts";
import { MAX_SACK_RANGES, type P2pLimits } from "./limits.ts";
import { encodePacket, type Packet, type SeqRange } from "./packet.ts";

/** Where a {@linkcode ReceiverCore} is. */
export type ReceiverState = "opening" | "receiving" | "committing" | "done" | "failed";

/** Options of a {@linkcode ReceiverCore}. */
export interface ReceiverOptions {
  id: Uint8Array;
  /** Exact file size from the ticket. */
  size: number;
  /** The sender's payload size from START (DATA `seq` starts at byte `seq × payloadBytes`). */
  payloadBytes: number;
  limits: P2pLimits;
  now: number;
  /**
   * Packets the receiving socket's kernel buffer holds; the advertised window never
   * exceeds it, so a sender never overflows that buffer by itself (default: no cap).
   */
  kernelWindowPackets?: number;
}

/** Counters of a {@linkcode ReceiverCore}. */
export interface ReceiverStats {
  datagramsReceived: number;
  duplicates: number;
  /** DATA packets dropped for a bad size or sequence number. */
  invalid: number;
  acksSent: number;
  bytesDelivered: number;
}

/** Sans-I/O receiver of one transfer. */
export class ReceiverCore {
  #id: Uint8Array;
  #size: number;
  #payload: number;
  #total: number;
  #l: P2pLimits;
  #state: ReceiverState = "opening";
  #failure: { reason: AbortReason; message: string } | undefined;

  #cum = 0;
  // Packets [consumed, cum) (accepted, not yet written) and out-of-order arrivals up to
  // consumed + windowPackets live in a ring of payloads (slot seq % ring packets), so
  // nothing is allocated per packet and in-order bytes leave as a few large views.
  #ringPackets: number;
  #ring: Uint8Array;
  /** 1 where an out-of-order packet is buffered (slot seq % ring packets). */
  #have: Uint8Array;
  #oooCount = 0;
  /** Packets handed out by takeData (the first `#consumed` of them are written). */
  #handed = 0;
  #consumed = 0;
  /** Packets per chunk handed out and not yet consumed, oldest first. */
  #chunkPackets: number[] = [];
  /** Packets already fed to the hash. */
  #hashed = 0;
  #hash: Hash = createHash("sha256");
  #digest: Uint8Array | undefined;
  #claimed: Uint8Array | undefined;

  #maxWindow: number;
  #ackEvery: number;
  #ackNow = false;
  #ackAt: number | undefined;
  #sinceAck = 0;
  #lastWindow = 0;
  #outbox: Uint8Array[] = [];
  /**
   * When the transfer last moved: opened, a new packet accepted from the sender, or
   * accepted bytes written. Only this holds off the stall timeout: a sender that sends
   * duplicates, invalid or out-of-window DATA, STARTs or early FINs makes no progress.
   */
  #lastProgress: number;
  #endedAt: number | undefined;
  #replyDue = 0;

  #stats: ReceiverStats = {
    datagramsReceived: 0,
    duplicates: 0,
    invalid: 0,
    acksSent: 0,
    bytesDelivered: 0,
  };

  /** @param o id, size, the sender's payload size, limits and the time. */
  constructor(o: ReceiverOptions) {
    if (!Number.isInteger(o.payloadBytes) || o.payloadBytes < 1) {
      throw new RangeError(`payloadBytes must be a positive integer, got ${o.payloadBytes}`);
    }
    this.#id = o.id;
    this.#size = o.size;
    this.#payload = o.payloadBytes;
    this.#total = Math.ceil(o.size / o.payloadBytes);
    this.#l = o.limits;
    this.#lastProgress = o.now;
    this.#ringPackets = Math.max(1, Math.min(this.#total, o.limits.windowPackets));
    this.#maxWindow = Math.max(
      1,
      Math.min(o.limits.windowPackets, o.kernelWindowPackets ?? Infinity),
    );
    // Delayed ACKs every N in-order packets, but at least four per (largest) window so a
    // sender limited by it never waits for the ACK timer.
    this.#ackEvery = Math.max(
      1,
      Math.min(o.limits.ackEveryPackets, Math.floor(this.#maxWindow / 4)),
    );
    this.#ring = new Uint8Array(this.#ringPackets * this.#payload);
    this.#have = new Uint8Array(this.#ringPackets);
  }

  /** Current state. */
  get state(): ReceiverState {
    return this.#state;
  }
  /** Why it failed, once `state` is `failed`. */
  get failure(): { reason: AbortReason; message: string } | undefined {
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
  /** Packets the sender may still send beyond the cumulative ack. */
  get window(): number {
    const room = this.#l.windowPackets - this.#oooCount - (this.#cum - this.#consumed);
    return Math.max(0, Math.min(this.#maxWindow, room));
  }

  /**
   * The temporary file is open: accept the transfer (an ACK tells the sender).
   *
   * @param now the current time.
   */
  opened(now: number): void {
    if (this.#state !== "opening") return;
    this.#state = "receiving";
    this.#lastProgress = now;
    this.#ackNow = true;
    this.#maybeComplete();
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
    this.#state = "failed";
    this.#failure = { reason, message };
    this.#endedAt = now;
    this.#release();
    this.#queueAbort(now);
  }

  #queueAbort(now: number): void {
    if (!this.#failure || now < this.#replyDue) return;
    this.#replyDue = now + 50;
    const bytes = new TextEncoder().encode(this.#failure.message);
    const reason = new TextDecoder().decode(bytes.subarray(0, 180)).replace(/\uFFFD$/, "");
    this.#outbox.push(
      encodePacket({ type: "abort", id: this.#id, code: AbortCode[this.#failure.reason], reason }),
    );
  }

  /** Frees the buffer once the transfer failed. */
  #release(): void {
    this.#ring = new Uint8Array(0);
    this.#have = new Uint8Array(0);
    this.#oooCount = 0;
    this.#chunkPackets = [];
    this.#handed = this.#consumed = this.#cum;
  }

  /** Whether {@linkcode takeData} has bytes to hand out. */
  get hasData(): boolean {
    return this.#handed < this.#cum &&
      (this.#state === "receiving" || this.#state === "committing");
  }

  /**
   * In-order file bytes ready to be written, as views into the receive buffer (at most
   * two, where it wraps). The caller writes them, then calls {@linkcode consumed} with
   * the number of chunks; the views stay valid until then.
   *
   * @returns the chunks, possibly none.
   */
  takeData(): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (!this.hasData) return out;
    const n = this.#ringPackets;
    while (this.#handed < this.#cum) {
      const first = this.#handed;
      const slot = first % n;
      const count = Math.min(this.#cum - first, n - slot);
      out.push(this.#view(first, count));
      this.#chunkPackets.push(count);
      this.#handed += count;
    }
    return out;
  }

  /** The bytes of packets [first, first + count), which must not wrap in the ring. */
  #view(first: number, count: number): Uint8Array {
    const start = (first % this.#ringPackets) * this.#payload;
    let bytes = count * this.#payload;
    if (first + count === this.#total) bytes -= this.#total * this.#payload - this.#size;
    return this.#ring.subarray(start, start + bytes);
  }

  /** Feeds packets [hashed, upTo) to the SHA-256 in large pieces. */
  #hashUpTo(upTo: number): void {
    const n = this.#ringPackets;
    while (this.#hashed < upTo) {
      const first = this.#hashed;
      const count = Math.min(upTo - first, n - (first % n));
      this.#hash.update(this.#view(first, count));
      this.#hashed += count;
    }
  }

  /**
   * Chunks from {@linkcode takeData} are written: reopen the window.
   *
   * @param chunks how many chunks (oldest first) were written.
   * @param now the current time.
   */
  consumed(chunks: number, now: number): void {
    let packets = 0;
    for (let i = 0; i < chunks && this.#chunkPackets.length > 0; i++) {
      packets += this.#chunkPackets.shift()!;
    }
    if (packets === 0) return;
    // Hash before the ring slots can be reused.
    this.#hashUpTo(this.#consumed + packets);
    this.#consumed += packets;
    this.#lastProgress = now;
    // Window update: tell a sender that saw a nearly closed window that it reopened.
    if (this.#lastWindow < this.#maxWindow / 4 && this.window >= this.#maxWindow / 2) {
      this.#ackNow = true;
    }
    this.#maybeComplete();
  }

  /**
   * The file was fsynced and renamed into place: confirm to the sender.
   *
   * @param now the current time.
   */
  committed(now: number): void {
    if (this.#state !== "committing") return;
    this.#state = "done";
    this.#endedAt = now;
    this.#sendFinAck();
  }

  #sendFinAck(): void {
    this.#outbox.push(encodePacket({ type: "fin_ack", id: this.#id, sha256: this.#digest! }));
  }

  #maybeComplete(): void {
    if (this.#state !== "receiving" || this.#cum < this.#total) return;
    if (!this.#digest) {
      this.#hashUpTo(this.#total);
      this.#digest = new Uint8Array(this.#hash.digest());
    }
    if (!this.#claimed || this.#consumed < this.#total) return;
    if (!equalBytes(this.#claimed, this.#digest)) {
      this.fail(
        "digest_mismatch",
        "SHA-256 of the received bytes does not match the sender's",
        this.#lastProgress,
      );
      return;
    }
    this.#state = "committing";
  }

  /**
   * Takes one datagram from the sender (decoded and matched to this transfer).
   *
   * @param p the packet.
   * @param now the current time.
   */
  handle(p: Packet, now: number): void {
    this.#stats.datagramsReceived++;
    if (this.#state === "failed") {
      if (p.type !== "abort") this.#queueAbort(now);
      return;
    }
    switch (p.type) {
      case "start":
        // A repeated START: our accepting ACK was lost.
        if (this.#state === "receiving") this.#ackNow = true;
        break;
      case "data":
        if (this.#state === "receiving") this.#onData(p.seq, p.payload, now, p.ackNow === true);
        break;
      case "fin":
        if (this.#state === "done") {
          this.#sendFinAck();
        } else if (this.#state === "receiving") {
          if (this.#cum < this.#total) {
            this.#ackNow = true; // FIN before all data: the sender is confused; re-ack
          } else {
            this.#claimed = p.sha256;
            this.#maybeComplete();
          }
        }
        break;
      case "abort": {
        const reason = abortReasonOf(p.code) ?? "cancelled";
        this.#state = "failed";
        this.#failure = {
          reason,
          message: p.reason || `the sender ended the transfer (${reason})`,
        };
        this.#endedAt = now;
        this.#release();
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

  #expectedLength(seq: number): number {
    return seq < this.#total - 1 ? this.#payload : this.#size - (this.#total - 1) * this.#payload;
  }

  #onData(seq: number, payload: Uint8Array, now: number, ackNow: boolean): void {
    if (seq >= this.#total || payload.length !== this.#expectedLength(seq)) {
      this.#stats.invalid++;
      return;
    }
    const n = this.#ringPackets;
    if (seq < this.#cum || (seq < this.#consumed + n && this.#have[seq % n] === 1)) {
      this.#stats.duplicates++;
      this.#ackNow = true;
      return;
    }
    if (
      this.#oooCount + (this.#cum - this.#consumed) >= this.#l.windowPackets ||
      seq >= this.#cum + this.#l.windowPackets || seq >= this.#consumed + n
    ) {
      this.#ackNow = true; // beyond our buffer (a window probe): drop, re-advertise
      return;
    }
    this.#ring.set(payload, (seq % n) * this.#payload);
    this.#lastProgress = now;
    if (seq !== this.#cum) {
      this.#have[seq % n] = 1;
      this.#oooCount++;
      this.#ackNow = true; // out of order: ack at once so the sender sees the gap
      return;
    }
    const hadGap = this.#oooCount > 0;
    this.#accept(payload.length);
    while (this.#oooCount > 0 && this.#have[this.#cum % n] === 1) {
      this.#have[this.#cum % n] = 0;
      this.#oooCount--;
      this.#accept(this.#expectedLength(this.#cum));
    }
    if (hadGap || ackNow || this.#cum >= this.#total) this.#ackNow = true;
    else if (++this.#sinceAck >= this.#ackEvery) this.#ackNow = true;
    else if (this.#ackAt === undefined) this.#ackAt = now + this.#l.ackDelayMs;
    this.#maybeComplete();
  }

  #accept(bytes: number): void {
    this.#cum++;
    this.#stats.bytesDelivered += bytes;
  }

  #ranges(): SeqRange[] {
    const ranges: SeqRange[] = [];
    if (this.#oooCount === 0) return ranges;
    const n = this.#ringPackets;
    const has = (seq: number) => seq < this.#consumed + n && this.#have[seq % n] === 1;
    const limit = this.#cum + this.#l.windowPackets;
    let start = -1;
    let seen = 0;
    for (let seq = this.#cum + 1; seq <= limit && seen < this.#oooCount; seq++) {
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

  /**
   * The next datagram to send now, if any. Call until it returns `undefined`.
   *
   * @param now the current time.
   * @returns datagram bytes or `undefined`.
   */
  pollTransmit(now: number): Uint8Array | undefined {
    const queued = this.#outbox.shift();
    if (queued) return queued;
    if (this.#state !== "receiving" && this.#state !== "committing") return undefined;
    if (!this.#ackNow && (this.#ackAt === undefined || now < this.#ackAt)) return undefined;
    this.#ackNow = false;
    this.#ackAt = undefined;
    this.#sinceAck = 0;
    this.#lastWindow = this.window;
    this.#stats.acksSent++;
    return encodePacket({
      type: "ack",
      id: this.#id,
      cum: this.#cum,
      window: this.#lastWindow,
      dups: this.#stats.duplicates,
      ranges: this.#ranges(),
    });
  }

  /**
   * The earliest time there is timer work (delayed ACK, stall timeout, end of linger).
   *
   * @param now the current time.
   * @returns absolute ms, or `undefined` when nothing is pending.
   */
  pollTimeout(now: number): number | undefined {
    if (this.#outbox.length > 0) return now;
    if (this.#ackNow && (this.#state === "receiving" || this.#state === "committing")) return now;
    if (this.ended) return this.#endedAt! + this.#l.lingerMs;
    // While accepted bytes wait for the disk, the sender is not the one stalling.
    let t = this.#waitingForDisk ? Infinity : this.#lastProgress + this.#l.stallTimeoutMs;
    if (this.#ackAt !== undefined && this.#ackAt < t) t = this.#ackAt;
    return t === Infinity ? undefined : t;
  }

  /** Whether accepted bytes are not yet written (the driver calls consumed() when they are). */
  get #waitingForDisk(): boolean {
    return this.#consumed < this.#cum;
  }

  /**
   * Runs expired timers: the stall timeout fails the transfer (reason `stalled`) when
   * no new bytes came from the sender for `stallTimeoutMs` (anything else it sends does
   * not count) and none are waiting to be written.
   *
   * @param now the current time.
   */
  handleTimeout(now: number): void {
    if (this.ended || this.#state === "committing" || this.#waitingForDisk) return;
    if (now >= this.#lastProgress + this.#l.stallTimeoutMs) {
      this.fail(
        "stalled",
        `no new data from the sender for ${this.#l.stallTimeoutMs} ms`,
        now,
      );
    }
  }

  /**
   * Whether the endpoint may forget this transfer (ended and lingered long enough).
   *
   * @param now the current time.
   */
  expired(now: number): boolean {
    return this.#endedAt !== undefined && now >= this.#endedAt + this.#l.lingerMs;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
