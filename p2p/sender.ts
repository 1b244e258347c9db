/**
 * The sending half of one UVF transfer as a sans-I/O state machine: it is fed file bytes
 * ({@linkcode SenderCore.push}), datagrams from the peer ({@linkcode SenderCore.handle})
 * and the time, and it hands back datagrams to send ({@linkcode SenderCore.pollTransmit})
 * and the next deadline ({@linkcode SenderCore.pollTimeout}). No sockets, files or timers.
 *
 * States: `starting` (START sent until the receiver's first ACK) → `sending` (sliding
 * window, SACK/RACK loss detection, RFC 6298 RTO) → `finishing` (all data acknowledged;
 * FIN with the SHA-256 until FIN_ACK) → `done`; any state → `failed`.
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
  DATA_ACK_NOW,
  DATA_HEADER_BYTES,
  encodePacket,
  HEADER_BYTES,
  type Packet,
  PACKET_MAGIC,
  PacketType,
} from "./packet.ts";
import { RttEstimator } from "./rtt.ts";

/** Smallest tail-loss probe timeout, ms. */
export const MIN_PTO_MS = 5;
/** Tail-loss probes in a row before only the RTO is left. */
export const MAX_PROBES = 2;

/** Where a {@linkcode SenderCore} is. */
export type SenderState = "starting" | "sending" | "finishing" | "done" | "failed";

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
  limits: P2pLimits;
  /** The time the transfer starts. */
  now: number;
}

/** Counters of a {@linkcode SenderCore}. */
export interface SenderStats {
  datagramsSent: number;
  bytesSent: number;
  retransmits: number;
  rtoExpiries: number;
  /** File bytes the receiver has acknowledged. */
  bytesAcked: number;
}

/** Slot flags. */
const ACKED = 1;
const LOST = 2;
const IN_FLIGHT = 4;

/** Sans-I/O sender of one transfer. */
export class SenderCore {
  #id: Uint8Array;
  #ticket: Uint8Array;
  #mac: Uint8Array;
  #size: number;
  #l: P2pLimits;
  #payload: number;
  #total: number;

  #state: SenderState = "starting";
  #error: TransferError | undefined;
  #outbox: Uint8Array[] = [];

  #hash: Hash = createHash("sha256");
  #digest: Uint8Array | undefined;
  #pushedBytes = 0;
  /** Bytes already copied into the slot of seq `#pushed` (not yet complete). */
  #fill = 0;
  #pushed = 0;

  // Packets [una, pushed) live in a ring of ready-made DATA datagrams (seq % cap), with
  // their state in typed arrays: no object, Map entry or allocation per packet.
  #cap: number;
  #stride: number;
  #ring: Uint8Array;
  #views: Uint8Array[];
  #sentAt: Float64Array;
  /** Global send order, to tell which packets were sent before a delivered one. */
  #sendOrder: Float64Array;
  #sends: Uint32Array;
  #flags: Uint8Array;
  #newly = 0;
  #sampleSeq = -1;
  #rackSeq = -1;

  #una = 0;
  #nxt = 0;
  #rwndEdge = 0;
  #lost: number[] = [];
  #pipe = 0;
  #order = 0;
  #probe = false;

  #rtt: RttEstimator;
  #cc: CongestionController;
  #pacer: Pacer;
  #rackOrder = -1;
  #rackRtt = 0;
  #reoMult = 1;
  #peerDups = 0;
  #reoAt: number | undefined;
  #rtoAt: number | undefined;
  #ptoAt: number | undefined;
  #probes = 0;

  #startSentAt: number | undefined;
  #startSends = 0;
  #startDue: number;
  #finDue: number | undefined;
  #finSends = 0;
  #lastHeard: number;
  /** The ABORT that told the peer why we failed, repeated while it keeps sending. */
  #abort: Uint8Array | undefined;
  #abortDue = 0;

  #stats: SenderStats = {
    datagramsSent: 0,
    bytesSent: 0,
    retransmits: 0,
    rtoExpiries: 0,
    bytesAcked: 0,
  };

  /** @param o the transfer's id, ticket, size, limits and start time. */
  constructor(o: SenderOptions) {
    this.#id = o.id;
    this.#ticket = o.ticket;
    this.#mac = o.mac;
    this.#size = o.size;
    this.#l = o.limits;
    this.#payload = o.limits.payloadBytes;
    this.#total = Math.ceil(o.size / this.#payload);
    this.#rtt = new RttEstimator(o.limits);
    this.#cc = new CongestionController({
      initialCwnd: o.limits.initialCwndPackets,
      minCwnd: o.limits.minCwndPackets,
      maxCwnd: Math.min(o.limits.maxCwndPackets, o.limits.windowPackets),
      beta: o.limits.lossBeta,
    });
    this.#pacer = new Pacer(Math.min(16, o.limits.maxCwndPackets));
    this.#cap = Math.max(
      1,
      Math.min(this.#total, o.limits.windowPackets + o.limits.maxCwndPackets),
    );
    this.#stride = DATA_HEADER_BYTES + this.#payload;
    this.#ring = new Uint8Array(this.#cap * this.#stride);
    this.#views = [];
    for (let i = 0; i < this.#cap; i++) {
      const base = i * this.#stride;
      this.#ring[base] = PACKET_MAGIC;
      this.#ring.set(o.id, base + 2);
      this.#views.push(this.#ring.subarray(base, base + this.#stride));
    }
    this.#sentAt = new Float64Array(this.#cap);
    this.#sendOrder = new Float64Array(this.#cap);
    this.#sends = new Uint32Array(this.#cap);
    this.#flags = new Uint8Array(this.#cap);
    this.#startDue = o.now;
    this.#lastHeard = o.now;

    if (o.size === 0) this.#digest = new Uint8Array(this.#hash.digest());
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
    return this.#cc;
  }
  /** Whether the transfer has ended (done or failed). */
  get ended(): boolean {
    return this.#state === "done" || this.#state === "failed";
  }

  /**
   * How many more file bytes the core wants buffered now (a window-bounded read-ahead).
   *
   * @returns bytes, 0 when the buffer is full or the whole file was pushed.
   */
  wantBytes(): number {
    if (this.ended || this.#pushedBytes >= this.#size) return 0;
    const room = this.#una + this.#cap - this.#pushed;
    if (room <= 0) return 0;
    return Math.min(room * this.#payload - this.#fill, this.#size - this.#pushedBytes);
  }

  /**
   * Feeds the next file bytes, in order. The bytes are copied (into ready-made
   * datagrams), so the caller may reuse its buffer at once.
   *
   * @param bytes the next bytes of the file, at most {@linkcode wantBytes} of them.
   * @throws {RangeError} when more bytes than the announced size, or than
   * {@linkcode wantBytes} allowed, are pushed.
   */
  push(bytes: Uint8Array): void {
    if (this.ended) return;
    if (this.#pushedBytes + bytes.length > this.#size) {
      throw new RangeError("pushed more bytes than the announced file size");
    }
    const p = this.#payload;
    if (this.#pushed + Math.ceil((this.#fill + bytes.length) / p) - this.#una > this.#cap) {
      throw new RangeError("pushed more bytes than wantBytes() allowed");
    }
    this.#hash.update(bytes);
    this.#pushedBytes += bytes.length;
    const last = this.#pushedBytes === this.#size;
    const ring = this.#ring;
    let off = 0;
    while (off < bytes.length) {
      const seq = this.#pushed;
      const base = (seq % this.#cap) * this.#stride;
      // While a slot is refilled its type byte is invalid: a stale view of it that a
      // deferred send still holds is then dropped as malformed, never misread.
      if (this.#fill === 0) ring[base + 1] = 0;
      const n = Math.min(p - this.#fill, bytes.length - off);
      ring.set(bytes.subarray(off, off + n), base + DATA_HEADER_BYTES + this.#fill);
      this.#fill += n;
      off += n;
      if (this.#fill === p || (last && off === bytes.length)) this.#seal(seq, base);
    }
    if (last) this.#digest = new Uint8Array(this.#hash.digest());
  }

  /** Completes the datagram of `seq`: header fields and fresh state. */
  #seal(seq: number, base: number): void {
    const ring = this.#ring;
    ring[base + 1] = PacketType.data;
    ring[base + HEADER_BYTES] = seq >>> 24;
    ring[base + HEADER_BYTES + 1] = (seq >>> 16) & 0xff;
    ring[base + HEADER_BYTES + 2] = (seq >>> 8) & 0xff;
    ring[base + HEADER_BYTES + 3] = seq & 0xff;
    const i = seq % this.#cap;
    this.#sentAt[i] = 0;
    this.#sendOrder[i] = 0;
    this.#sends[i] = 0;
    this.#flags[i] = 0;
    this.#pushed++;
    this.#fill = 0;
  }

  /** The datagram of a pushed `seq` (a view into the ring). */
  #datagram(seq: number): Uint8Array {
    const i = seq % this.#cap;
    if (seq < this.#total - 1) return this.#views[i]!;
    const base = i * this.#stride;
    const len = this.#size - (this.#total - 1) * this.#payload;
    return this.#ring.subarray(base, base + DATA_HEADER_BYTES + len);
  }

  /**
   * Ends the transfer locally (abort signal, local read error, the peer blocked); an
   * ABORT tells the peer.
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

  #fail(error: TransferError, tellPeer?: AbortReason, text = ""): void {
    this.#state = "failed";
    this.#error = error;
    this.#release();
    this.#lost = [];
    if (tellPeer) {
      this.#abort = encodePacket({
        type: "abort",
        id: this.#id,
        code: AbortCode[tellPeer],
        reason: text,
      });
      this.#outbox.push(this.#abort);
    }
  }

  /**
   * Takes one datagram from the peer (already decoded and matched to this transfer).
   *
   * @param p the packet.
   * @param now the current time.
   */
  handle(p: Packet, now: number): void {
    if (this.#state === "failed") {
      // The peer has not heard our ABORT: repeat it, at most every 50 ms.
      if (p.type !== "abort" && this.#abort && now >= this.#abortDue) {
        this.#abortDue = now + 50;
        this.#outbox.push(this.#abort);
      }
      return;
    }
    if (this.#state === "done") return;
    switch (p.type) {
      case "ack":
        this.#lastHeard = now;
        this.#onAck(p, now);
        break;
      case "fin_ack":
        this.#lastHeard = now;
        if (this.#state !== "finishing" || !this.#digest) return;
        if (!equalBytes(p.sha256, this.#digest)) {
          this.#fail(
            new IntegrityError("receiver confirmed a different SHA-256; send the file again"),
          );
          return;
        }
        this.#state = "done";
        this.#release();
        break;
      case "abort":
        this.#fail(errorFromAbort(p.code, p.reason));
        break;
      default:
        break;
    }
  }

  /** Drops the packet buffer once nothing can be sent any more. */
  #release(): void {
    this.#ring = new Uint8Array(0);
    this.#views = [];
  }

  /** Marks `seq` acknowledged (cumulatively or selectively); notes RTT and RACK candidates. */
  #ackSeq(seq: number, now: number): void {
    const i = seq % this.#cap;
    const f = this.#flags[i]!;
    if ((f & ACKED) !== 0 || this.#sends[i] === 0) return;
    this.#flags[i] = (f | ACKED) & ~IN_FLIGHT;
    this.#newly++;
    if ((f & IN_FLIGHT) !== 0) this.#pipe--;
    const order = this.#sendOrder[i]!;
    if (
      this.#sends[i] === 1 &&
      (this.#sampleSeq < 0 || order > this.#sendOrder[this.#sampleSeq % this.#cap]!)
    ) {
      this.#sampleSeq = seq;
    }
    // RACK: a retransmitted packet acked sooner than minRTT after its resend is
    // ambiguous (the ack may be for the original), so it does not advance RACK.
    if (this.#sends[i] === 1 || now - this.#sentAt[i]! >= this.#rtt.minRtt) {
      if (this.#rackSeq < 0 || order > this.#sendOrder[this.#rackSeq % this.#cap]!) {
        this.#rackSeq = seq;
      }
    }
  }

  #onAck(a: AckPacket, now: number): void {
    if (a.cum > this.#total || (a.cum > this.#nxt && this.#state !== "starting")) return;
    if (this.#state === "starting") {
      this.#state = "sending";
      // Karn: only an unambiguous START gives an RTT sample.
      if (this.#startSends === 1 && this.#startSentAt !== undefined) {
        this.#rtt.sample(now - this.#startSentAt);
      }
    }
    if (a.cum >= this.#una) this.#rwndEdge = Math.max(this.#rwndEdge, a.cum + a.window);
    if (a.window === 0 && a.cum >= this.#una) this.#rwndEdge = a.cum;
    this.#newly = 0;
    this.#sampleSeq = -1;
    this.#rackSeq = -1;
    // Candidates are read before `una` moves past them (their ring slots stay intact
    // until the next push).
    for (let seq = this.#una; seq < a.cum; seq++) this.#ackSeq(seq, now);
    for (const r of a.ranges) {
      const end = Math.min(r.end, this.#nxt);
      for (let seq = Math.max(r.start, a.cum, this.#una); seq < end; seq++) this.#ackSeq(seq, now);
    }
    if (this.#sampleSeq >= 0) {
      this.#rtt.sample(now - this.#sentAt[this.#sampleSeq % this.#cap]!);
    }
    if (this.#rackSeq >= 0) {
      const i = this.#rackSeq % this.#cap;
      if (this.#sendOrder[i]! > this.#rackOrder) {
        this.#rackOrder = this.#sendOrder[i]!;
        this.#rackRtt = now - this.#sentAt[i]!;
      }
    }
    const newly = this.#newly;
    if (a.cum > this.#una) this.#una = a.cum;
    this.#stats.bytesAcked = Math.min(this.#size, this.#una * this.#payload);
    // Duplicates reported by the receiver after we retransmitted suggest spurious
    // retransmissions from reordering: widen the reordering window (RACK, RFC 8985 §6.2).
    if (a.dups > this.#peerDups) {
      if (this.#stats.retransmits > 0) this.#reoMult = Math.min(this.#reoMult + 1, 8);
      this.#peerDups = a.dups;
    }
    // Congestion window validation (RFC 7661 in spirit): grow only a window that is in
    // use; a sender held back by the receiver's window or by file reads would otherwise
    // inflate it to its ceiling and later burst.
    if (this.#pipe + newly >= this.#cc.window / 2) this.#cc.onAck(newly, this.#una);
    if (newly > 0) {
      this.#probe = false;
      // RFC 6298 §5.3: restart the timer when new data is acknowledged; §5.2: stop it
      // when nothing is outstanding.
      this.#rtoAt = this.#pipe > 0 ? now + this.#rtt.rto : undefined;
      this.#probes = 0;
      this.#ptoAt = this.#pipe > 0 ? now + this.#pto() : undefined;
    }
    this.#detectLosses(now);
    this.#maybeFinish(now);
  }

  /**
   * Tail-loss probe timeout (RFC 8985 §7.2): 2·SRTT plus the receiver's ACK delay, at
   * least {@linkcode MIN_PTO_MS}, never beyond the RTO.
   */
  #pto(): number {
    const srtt = this.#rtt.srtt;
    const pto = srtt === undefined
      ? this.#rtt.rto
      : Math.max(MIN_PTO_MS, 2 * srtt + this.#l.ackDelayMs);
    return Math.min(pto, this.#rtt.rto);
  }

  #reoWnd(): number {
    const minRtt = this.#rtt.minRtt === Infinity ? 0 : this.#rtt.minRtt;
    const base = Math.max(minRtt / 4, this.#l.clockGranularityMs) * this.#reoMult;
    return Math.min(base, this.#rtt.srtt ?? base);
  }

  #detectLosses(now: number): void {
    this.#reoAt = undefined;
    if (this.#rackOrder < 0) return;
    const reo = this.#reoWnd();
    const flags = this.#flags;
    for (let seq = this.#una; seq < this.#nxt; seq++) {
      const i = seq % this.#cap;
      if ((flags[i]! & (ACKED | LOST | IN_FLIGHT)) !== IN_FLIGHT) continue;
      if (this.#sendOrder[i]! >= this.#rackOrder) continue;
      const deadline = this.#sentAt[i]! + this.#rackRtt + reo;
      if (deadline <= now) {
        flags[i] = (flags[i]! | LOST) & ~IN_FLIGHT;
        this.#pipe--;
        this.#lost.push(seq);
        this.#cc.onLoss(seq, this.#nxt);
      } else if (this.#reoAt === undefined || deadline < this.#reoAt) {
        this.#reoAt = deadline;
      }
    }
    if (this.#lost.length > 1) this.#lost.sort((x, y) => x - y);
  }

  #maybeFinish(now: number): void {
    if (this.#state === "sending" && this.#una >= this.#total && this.#digest) {
      this.#state = "finishing";
      this.#finDue = now;
      this.#rtoAt = undefined;
      this.#reoAt = undefined;
    }
  }

  #emit(bytes: Uint8Array, datagrams = 1): Uint8Array {
    this.#stats.datagramsSent += datagrams;
    this.#stats.bytesSent += bytes.length;
    return bytes;
  }

  #sendSlot(seq: number, now: number): Uint8Array {
    this.#markSent(seq, now);
    this.#ring[(seq % this.#cap) * this.#stride + 1] = this.#ackNowType();
    return this.#emit(this.#datagram(seq));
  }

  /**
   * New packets [seq, seq + k) leave together: their datagrams are adjacent in the ring,
   * so one buffer carries them all for a socket that splits it (segmentation offload).
   */
  #sendRun(seq: number, k: number, now: number): Uint8Array {
    for (let j = 0; j < k; j++) {
      this.#markSent(seq + j, now);
      this.#ring[((seq + j) % this.#cap) * this.#stride + 1] = PacketType.data;
    }
    this.#ring[((seq + k - 1) % this.#cap) * this.#stride + 1] = this.#ackNowType();
    const start = (seq % this.#cap) * this.#stride;
    const last = this.#datagram(seq + k - 1);
    const end = last.byteOffset - this.#ring.byteOffset + last.length;
    return this.#emit(this.#ring.subarray(start, end), k);
  }

  /**
   * The type byte for the datagram just marked sent: DATA_ACK_NOW when the congestion
   * window is now full and too small for the receiver's every-N delayed ACKs to come in
   * time (they would wait for its ACK timer). A window limited by the receiver needs no
   * mark: the receiver acks at least four times per window it advertises.
   */
  #ackNowType(): number {
    const w = this.#cc.window;
    return this.#lost.length === 0 && this.#pipe >= w && w < 2 * this.#l.ackEveryPackets
      ? DATA_ACK_NOW
      : PacketType.data;
  }

  #markSent(seq: number, now: number): void {
    const i = seq % this.#cap;
    if (this.#sends[i]! > 0) this.#stats.retransmits++;
    this.#sends[i]!++;
    this.#sentAt[i] = now;
    this.#sendOrder[i] = ++this.#order;
    this.#flags[i] = (this.#flags[i]! & ~LOST) | IN_FLIGHT;
    this.#pipe++;
    this.#pacer.onSend();
    if (this.#rtoAt === undefined) this.#rtoAt = now + this.#rtt.rto; // §5.1
    if (this.#ptoAt === undefined) this.#ptoAt = now + this.#pto();
  }

  /**
   * The next datagram to send now, if any. Call until it returns `undefined`.
   *
   * With `maxSegments > 1` (a socket with segmentation offload), new DATA packets may
   * come as one buffer of up to `maxSegments` back-to-back datagrams, each exactly
   * `DATA_HEADER_BYTES + payloadBytes` long except possibly the file's last one.
   *
   * @param now the current time.
   * @param maxSegments most datagrams to return in one buffer.
   * @returns datagram bytes or `undefined`.
   */
  pollTransmit(now: number, maxSegments = 1): Uint8Array | undefined {
    const queued = this.#outbox.shift();
    if (queued) return this.#emit(queued);
    switch (this.#state) {
      case "starting":
        if (now < this.#startDue) return undefined;
        this.#startSends++;
        this.#startSentAt = now;
        if (this.#startSends > 1) this.#rtt.backOff();
        this.#startDue = now + this.#rtt.rto;
        return this.#emit(encodePacket({
          type: "start",
          id: this.#id,
          payloadBytes: this.#payload,
          ticket: this.#ticket,
          mac: this.#mac,
        }));
      case "sending": {
        this.#pacer.setRate(
          this.#cc.cwnd,
          this.#rtt.srtt,
          this.#cc.cwnd < this.#cc.ssthresh ? 2 : 1.25,
        );
        if (this.#pipe >= this.#cc.window && !this.#probe) return undefined;
        while (this.#lost.length > 0) {
          const seq = this.#lost[0]!;
          if (seq < this.#una || (this.#flags[seq % this.#cap]! & (ACKED | LOST)) !== LOST) {
            this.#lost.shift();
            continue;
          }
          if (!this.#pacer.canSend(now)) return undefined;
          this.#lost.shift();
          return this.#sendSlot(seq, now);
        }
        if (this.#nxt < this.#pushed && (this.#nxt < this.#rwndEdge || this.#probe)) {
          if (!this.#pacer.canSend(now)) return undefined;
          const seq = this.#nxt;
          let k = 1;
          if (maxSegments > 1 && !this.#probe) {
            k = Math.min(
              maxSegments,
              this.#pushed - seq,
              this.#rwndEdge - seq,
              this.#cc.window - this.#pipe,
              this.#cap - (seq % this.#cap), // adjacent in the ring
              this.#pacer.available(now),
            );
          }
          this.#probe = false;
          this.#nxt += k;
          return k === 1 ? this.#sendSlot(seq, now) : this.#sendRun(seq, k, now);
        }
        return undefined;
      }
      case "finishing":
        if (this.#finDue === undefined || now < this.#finDue) return undefined;
        if (this.#finSends++ > 0) this.#rtt.backOff(); // a FIN retransmission: §5.5
        this.#finDue = now + this.#rtt.rto;
        return this.#emit(encodePacket({ type: "fin", id: this.#id, sha256: this.#digest! }));
      default:
        return undefined;
    }
  }

  /** Whether {@linkcode pollTransmit} may have something once the pacer allows. */
  #wantsPacer(): boolean {
    if (this.#state !== "sending" || this.#pipe >= this.#cc.window) return false;
    return this.#lost.length > 0 || (this.#nxt < this.#pushed && this.#nxt < this.#rwndEdge);
  }

  /**
   * The earliest time {@linkcode handleTimeout} (or {@linkcode pollTransmit}) has work.
   *
   * @param now the current time (for the pacer).
   * @returns an absolute time in ms, or `undefined` when ended.
   */
  pollTimeout(now: number): number | undefined {
    if (this.ended) return this.#outbox.length > 0 ? now : undefined;
    let t = this.#lastHeard + this.#l.giveUpMs;
    const min = (x: number | undefined) => {
      if (x !== undefined && x < t) t = x;
    };
    if (this.#state === "starting") min(this.#startDue);
    if (this.#state === "finishing") min(this.#finDue);
    if (this.#state === "sending") {
      min(this.#rtoAt);
      min(this.#reoAt);
      if (this.#probes < MAX_PROBES) min(this.#ptoAt);
      if (this.#wantsPacer()) min(this.#pacer.nextSendTime(now));
      // Zero window with nothing in flight: probe after an RTO (persist timer).
      if (
        this.#pipe === 0 && this.#lost.length === 0 && this.#nxt < this.#pushed &&
        this.#rtoAt === undefined
      ) {
        this.#rtoAt = now + this.#rtt.rto;
        min(this.#rtoAt);
      }
    }
    return t;
  }

  /**
   * Runs expired timers: give-up, retransmission timeout (RFC 6298 §5.4–5.6), RACK
   * reordering timer, persist probe.
   *
   * @param now the current time.
   */
  handleTimeout(now: number): void {
    if (this.ended) return;
    if (now >= this.#lastHeard + this.#l.giveUpMs) {
      const what = this.#state === "starting" ? "never answered" : "stopped answering";
      this.#fail(
        new PeerUnreachableError(
          `peer ${what} for ${this.#l.giveUpMs} ms; check that the receiving device is online and its UDP port is reachable, then try again`,
        ),
        "stalled",
      );
      return;
    }
    if (this.#state !== "sending") return;
    if (this.#reoAt !== undefined && now >= this.#reoAt) this.#detectLosses(now);
    if (this.#ptoAt !== undefined && now >= this.#ptoAt && this.#probes < MAX_PROBES) {
      // No ACK for a while: resend the newest unacknowledged packet so its SACK lets
      // RACK find earlier losses without waiting for the RTO. Not a congestion signal.
      this.#ptoAt = undefined;
      if (this.#lost.length === 0 && this.#pipe > 0) {
        for (let seq = this.#nxt - 1; seq >= this.#una; seq--) {
          const i = seq % this.#cap;
          if ((this.#flags[i]! & (ACKED | IN_FLIGHT)) === IN_FLIGHT) {
            this.#probes++;
            this.#flags[i] = (this.#flags[i]! | LOST) & ~IN_FLIGHT;
            this.#pipe--;
            this.#lost.push(seq);
            this.#lost.sort((x, y) => x - y);
            break;
          }
        }
      }
    }
    if (this.#rtoAt !== undefined && now >= this.#rtoAt) {
      if (this.#pipe === 0 && this.#lost.length === 0) {
        // Persist timer: the window is closed; send one packet beyond it as a probe.
        this.#probe = this.#nxt < this.#pushed;
        this.#rtoAt = undefined;
        return;
      }
      this.#stats.rtoExpiries++;
      this.#rtt.backOff(); // §5.5
      this.#cc.onRto(this.#nxt);
      // Everything in flight is presumed lost; SACKed packets are not resent.
      for (let seq = this.#una; seq < this.#nxt; seq++) {
        const i = seq % this.#cap;
        if ((this.#flags[i]! & (ACKED | IN_FLIGHT)) === IN_FLIGHT) {
          this.#flags[i] = (this.#flags[i]! | LOST) & ~IN_FLIGHT;
          this.#lost.push(seq);
        }
      }
      this.#pipe = 0;
      this.#lost.sort((x, y) => x - y);
      this.#rtoAt = now + this.#rtt.rto; // §5.6
      this.#ptoAt = undefined;
    }
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
