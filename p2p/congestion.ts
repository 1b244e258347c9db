/**
 * Congestion control in packets: NewReno-like AIMD (slow start, congestion avoidance,
 * one multiplicative decrease per loss episode, collapse to the floor on RTO) and a
 * token-bucket pacer that spreads a window over the smoothed RTT.
 *
 * @module
 */

/** Paths with a smoothed RTT below this (ms) are not paced. */
export const MIN_PACED_RTT_MS = 2;

/** Options of a {@linkcode CongestionController}. */
export interface CongestionOptions {
  /** cwnd at start, in packets. */
  initialCwnd: number;
  /** cwnd never goes below this. */
  minCwnd: number;
  /** cwnd never grows above this (the receiver's buffer bounds it anyway). */
  maxCwnd: number;
  /** Multiplicative decrease factor per loss episode (NewReno uses 0.5). */
  beta: number;
}

/**
 * AIMD congestion window.
 *
 * @example
 * ```ts
 * import { CongestionController } from "./congestion.ts";
 * const cc = new CongestionController({ initialCwnd: 10, minCwnd: 2, maxCwnd: 1000, beta: 0.5 });
 * cc.onAck(10, 10); // slow start: +1 per acked packet
 * console.assert(cc.cwnd === 20);
 * cc.onLoss(15, 30); // one halving per episode
 * console.assert(cc.cwnd === 10);
 * ```
 */
export class CongestionController {
  #options: CongestionOptions;
  #cwnd: number;
  #ssthresh = Infinity;
  /** Loss episode: no further decrease for losses of packets sent before this seq. */
  #recoveryEnd = -1;
  #losses = 0;

  /** @param options window bounds and decrease factor. */
  constructor(options: CongestionOptions) {
    this.#options = options;
    this.#cwnd = Math.max(options.minCwnd, Math.min(options.maxCwnd, options.initialCwnd));
  }

  /** The congestion window in (possibly fractional) packets. */
  get cwnd(): number {
    return this.#cwnd;
  }
  /** Slow-start threshold. */
  get ssthresh(): number {
    return this.#ssthresh;
  }
  /** Number of decreases so far (loss episodes + RTOs). */
  get decreases(): number {
    return this.#losses;
  }
  /** Whole packets that may be in flight. */
  get window(): number {
    return Math.max(1, Math.floor(this.#cwnd));
  }

  /**
   * New data acknowledged.
   *
   * @param newly packets newly acknowledged (cumulatively or selectively).
   * @param cum the cumulative ack point, to leave a loss episode.
   */
  onAck(newly: number, cum: number): void {
    if (newly <= 0) return;
    if (cum < this.#recoveryEnd) return; // NewReno: hold cwnd during recovery
    if (this.#cwnd < this.#ssthresh) this.#cwnd += newly;
    else this.#cwnd += newly / this.#cwnd;
    if (this.#cwnd > this.#options.maxCwnd) this.#cwnd = this.#options.maxCwnd;
  }

  /**
   * A packet was declared lost by SACK/RACK. Decreases at most once per episode.
   *
   * @param lostSeq the lost packet's sequence number.
   * @param nextSeq the next new sequence number to send (end of the episode).
   * @returns whether this loss started a new episode.
   */
  onLoss(lostSeq: number, nextSeq: number): boolean {
    if (lostSeq < this.#recoveryEnd) return false;
    this.#losses++;
    this.#ssthresh = Math.max(this.#options.minCwnd, this.#cwnd * this.#options.beta);
    this.#cwnd = this.#ssthresh;
    this.#recoveryEnd = nextSeq;
    return true;
  }

  /**
   * The retransmission timer expired: cwnd to the floor, slow start up to half.
   *
   * @param nextSeq the next new sequence number to send.
   */
  onRto(nextSeq: number): void {
    this.#losses++;
    this.#ssthresh = Math.max(this.#options.minCwnd, this.#cwnd * 0.5);
    this.#cwnd = this.#options.minCwnd;
    this.#recoveryEnd = nextSeq;
  }
}

/**
 * Token-bucket pacer: releases packets at `gain × cwnd / srtt`, with bursts of at most
 * `max(minBurst, rate × burstMs)` packets.
 */
export class Pacer {
  #tokens: number;
  #last: number | undefined;
  #rate = Infinity;
  #burst: number;
  #minBurst: number;
  #burstMs: number;

  /**
   * @param minBurst smallest burst in packets.
   * @param burstMs the burst is also at least this many ms worth of packets.
   */
  constructor(minBurst: number, burstMs = 2) {
    this.#minBurst = minBurst;
    this.#burstMs = burstMs;
    this.#burst = minBurst;
    this.#tokens = minBurst;
  }

  /**
   * Updates the rate.
   *
   * @param cwnd congestion window in packets.
   * @param srttMs smoothed RTT (`undefined` before the first sample: unpaced).
   * @param gain pacing gain (2 in slow start, 1.25 after).
   */
  setRate(cwnd: number, srttMs: number | undefined, gain: number): void {
    // Below MIN_PACED_RTT_MS the millisecond clock cannot resolve the RTT: pacing by
    // it would cap a sub-millisecond path at cwnd per ms. The window (sized to the
    // receiver's buffer) bounds the burst instead.
    this.#rate = srttMs === undefined || srttMs < MIN_PACED_RTT_MS
      ? Infinity
      : (gain * cwnd) / srttMs;
    this.#burst = this.#rate === Infinity
      ? this.#minBurst
      : Math.max(this.#minBurst, this.#rate * this.#burstMs);
  }

  #refill(now: number): void {
    if (this.#rate === Infinity) this.#tokens = this.#burst;
    else if (this.#last !== undefined && now > this.#last) {
      this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#last) * this.#rate);
    }
    if (this.#tokens > this.#burst) this.#tokens = this.#burst;
    this.#last = now;
  }

  /** Whether a packet may leave at `now`. */
  canSend(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= 1;
  }

  /**
   * How many packets may leave at `now` (Infinity when unpaced).
   *
   * @param now the current time.
   * @returns whole tokens available.
   */
  available(now: number): number {
    this.#refill(now);
    return this.#rate === Infinity ? Infinity : Math.floor(this.#tokens);
  }

  /** Takes one token. */
  onSend(): void {
    this.#tokens -= 1;
  }

  /** When the next token is due (for the timer), or `now` if one is there. */
  nextSendTime(now: number): number {
    this.#refill(now);
    if (this.#tokens >= 1) return now;
    return now + Math.max(1, Math.ceil((1 - this.#tokens) / this.#rate));
  }
}
