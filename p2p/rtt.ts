/**
 * Round-trip time estimation and the retransmission timeout, exactly per RFC 6298:
 * SRTT/RTTVAR with alpha = 1/8, beta = 1/4, K = 4, a configurable floor (§2.4) and
 * ceiling (§2.5), and exponential back-off on timer expiry (§5.5). Karn's rule (§3) is
 * the caller's job: never pass a sample measured on a retransmitted packet.
 *
 * @module
 */

/** RFC 6298 alpha. */
export const RTT_ALPHA = 1 / 8;
/** RFC 6298 beta. */
export const RTT_BETA = 1 / 4;
/** RFC 6298 K. */
export const RTT_K = 4;

/** Options of an {@linkcode RttEstimator}. */
export interface RttOptions {
  /** RTO before any sample (RFC: 1 s). */
  initialRtoMs: number;
  /** Floor applied whenever the RTO is computed (RFC: 1 s; configurable here). */
  minRtoMs: number;
  /** Ceiling, also for back-off (RFC: at least 60 s; configurable here). */
  maxRtoMs: number;
  /** Clock granularity G. */
  clockGranularityMs: number;
}

/**
 * RFC 6298 estimator.
 *
 * @example
 * ```ts
 * import { RttEstimator } from "./rtt.ts";
 * const rtt = new RttEstimator({ initialRtoMs: 1000, minRtoMs: 200, maxRtoMs: 60_000, clockGranularityMs: 1 });
 * rtt.sample(100);
 * console.assert(rtt.srtt === 100 && rtt.rttvar === 50 && rtt.rto === 300);
 * ```
 */
export class RttEstimator {
  #options: RttOptions;
  #srtt: number | undefined;
  #rttvar = 0;
  #rto: number;
  #minRtt = Infinity;

  /** @param options bounds and the initial RTO. */
  constructor(options: RttOptions) {
    this.#options = options;
    this.#rto = this.#clamp(options.initialRtoMs);
  }

  #clamp(rto: number): number {
    return Math.min(this.#options.maxRtoMs, Math.max(this.#options.minRtoMs, rto));
  }

  /** Smoothed RTT, or `undefined` before the first sample. */
  get srtt(): number | undefined {
    return this.#srtt;
  }
  /** RTT variation. */
  get rttvar(): number {
    return this.#rttvar;
  }
  /** Current retransmission timeout in ms (after any back-off). */
  get rto(): number {
    return this.#rto;
  }
  /** Smallest sample seen (Infinity before any). */
  get minRtt(): number {
    return this.#minRtt;
  }
  /** Whether at least one sample was taken. */
  get hasSample(): boolean {
    return this.#srtt !== undefined;
  }

  /**
   * Takes one RTT measurement R (RFC 6298 §2.2 / §2.3) and recomputes the RTO, which also
   * undoes any back-off.
   *
   * @param r the measured round trip in ms, from a packet sent exactly once.
   */
  sample(r: number): void {
    if (!(r >= 0)) return;
    const { clockGranularityMs: g } = this.#options;
    if (this.#srtt === undefined) {
      this.#srtt = r;
      this.#rttvar = r / 2;
    } else {
      // §2.3: RTTVAR first, using the old SRTT.
      this.#rttvar = (1 - RTT_BETA) * this.#rttvar + RTT_BETA * Math.abs(this.#srtt - r);
      this.#srtt = (1 - RTT_ALPHA) * this.#srtt + RTT_ALPHA * r;
    }
    if (r < this.#minRtt) this.#minRtt = r;
    this.#rto = this.#clamp(this.#srtt + Math.max(g, RTT_K * this.#rttvar));
  }

  /** Timer expired: RTO = min(2 × RTO, max) (RFC 6298 §5.5). */
  backOff(): void {
    this.#rto = Math.min(this.#options.maxRtoMs, this.#rto * 2);
  }
}
