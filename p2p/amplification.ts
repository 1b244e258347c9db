/**
 * Anti-amplification: before a peer address has been validated (it presented a ticket
 * that verified), this device sends it at most `factor` × the bytes it received from it,
 * as QUIC does (RFC 9000 §8.1). Only responses to unadmitted traffic go through here;
 * traffic of admitted transfers is validated.
 *
 * @module
 */

/** Most addresses tracked; the least recently seen are forgotten first. */
export const MAX_TRACKED_ADDRESSES = 4096;

/** Per-address byte budget for unvalidated peers. */
export class AmplificationLimiter {
  #factor: number;
  #budget = new Map<string, { received: number; sent: number }>();

  /** @param factor bytes sent per byte received before validation (3). */
  constructor(factor = 3) {
    this.#factor = factor;
  }

  #entry(addr: string): { received: number; sent: number } {
    let e = this.#budget.get(addr);
    if (e) {
      this.#budget.delete(addr); // keep LRU order
    } else {
      e = { received: 0, sent: 0 };
      if (this.#budget.size >= MAX_TRACKED_ADDRESSES) {
        this.#budget.delete(this.#budget.keys().next().value!);
      }
    }
    this.#budget.set(addr, e);
    return e;
  }

  /**
   * Records bytes received from an unvalidated address.
   *
   * @param addr the address key (`host:port`).
   * @param bytes datagram size.
   */
  received(addr: string, bytes: number): void {
    this.#entry(addr).received += bytes;
  }

  /**
   * Reserves budget for a response; returns `false` (send nothing) when over budget.
   *
   * @param addr the address key.
   * @param bytes the response size.
   */
  trySend(addr: string, bytes: number): boolean {
    const e = this.#entry(addr);
    if (e.sent + bytes > this.#factor * e.received) return false;
    e.sent += bytes;
    return true;
  }

  /** Bytes sent and received so far for an address (for tests and stats). */
  usage(addr: string): { received: number; sent: number } {
    const e = this.#budget.get(addr);
    return e ? { ...e } : { received: 0, sent: 0 };
  }
}
