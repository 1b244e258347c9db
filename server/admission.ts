/**
 * Which new connections the server takes: at most `maxConnections` in all, at most
 * `maxPendingLogins` not yet logged in, and at most `maxPendingLoginsPerAddress` of those
 * from one address, so that one address cannot take every place and keep everyone else
 * from logging in. Counts follow connections as they come, log in and go, so admitting
 * one costs the same however many are held.
 *
 * @module
 */

/** The caps {@linkcode Admission} applies. */
export interface AdmissionLimits {
  /** Connections held at once. */
  maxConnections: number;
  /** Connections not yet logged in held at once. */
  maxPendingLogins: number;
  /** Connections not yet logged in held at once from one address. */
  maxPendingLoginsPerAddress: number;
}

/** Why a connection was refused: a code for metrics, a sentence for the log and the peer. */
export interface AdmissionRefusal {
  reason: "max_connections" | "max_pending_logins" | "max_pending_per_address";
  message: string;
}

/** One admitted connection's place; each method takes effect once. */
export interface AdmissionSlot {
  /** The connection's address. */
  readonly ip: string;
  /** The connection logged in: it no longer counts as waiting to. */
  loggedIn(): void;
  /** The connection closed: its place is free. */
  release(): void;
}

/**
 * The place of a connection admitted before its address is known; each method takes
 * effect once.
 */
export interface UnaddressedSlot {
  /**
   * The connection's address is known: counts it against that address's cap.
   *
   * @returns its slot, or why it is refused (its place is then free).
   * @throws {Error} when called a second time or after `release`.
   */
  address(ip: string): AdmissionSlot | AdmissionRefusal;
  /** The connection closed before its address was known: its place is free. */
  release(): void;
}

/**
 * Counts the connections held and decides on new ones.
 *
 * @example
 * ```ts
 * import { Admission, type AdmissionRefusal } from "./admission.ts";
 * import assert from "node:assert/strict";
 * const admission = new Admission({
 *   maxConnections: 10,
 *   maxPendingLogins: 10,
 *   maxPendingLoginsPerAddress: 1,
 * });
 * const first = admission.admit("10.0.0.1");
 * assert.equal(typeof first, "object");
 * assert.equal(
 *   (admission.admit("10.0.0.1") as AdmissionRefusal).reason,
 *   "max_pending_per_address",
 * );
 * ```
 */
export class Admission {
  readonly #limits: AdmissionLimits;
  #connections = 0;
  #pending = 0;
  readonly #pendingByAddress = new Map<string, number>();

  constructor(limits: AdmissionLimits) {
    this.#limits = limits;
  }

  /** Connections held now. */
  get connections(): number {
    return this.#connections;
  }

  /** Connections held now that have not logged in. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Takes a connection from `ip`, if the caps allow.
   *
   * @returns its slot, or why it cannot be taken now.
   */
  admit(ip: string): AdmissionSlot | AdmissionRefusal {
    const refusal = this.#refuseOverall() ?? this.#refuseFrom(ip);
    if (refusal) return refusal;
    this.#connections++;
    this.#pending++;
    return this.#slot(ip);
  }

  /**
   * Takes a connection whose address is still to come (with `--proxy-protocol`, in the
   * PROXY header), if the caps on all connections allow: it counts against them while
   * it waits, and against its address's cap once {@linkcode UnaddressedSlot.address}
   * names it.
   *
   * @returns its place, or why it cannot be taken now.
   */
  admitUnaddressed(): UnaddressedSlot | AdmissionRefusal {
    const refusal = this.#refuseOverall();
    if (refusal) return refusal;
    this.#connections++;
    this.#pending++;
    let state: "waiting" | "addressed" | "gone" = "waiting";
    const release = () => {
      if (state !== "waiting") return;
      state = "gone";
      this.#connections--;
      this.#pending--;
    };
    return {
      address: (ip) => {
        if (state !== "waiting") throw new Error(`the connection's place is already ${state}`);
        const refusal = this.#refuseFrom(ip);
        if (refusal) {
          release();
          return refusal;
        }
        state = "addressed";
        return this.#slot(ip);
      },
      release,
    };
  }

  #refuseOverall(): AdmissionRefusal | undefined {
    const { maxConnections, maxPendingLogins } = this.#limits;
    if (this.#connections >= maxConnections) {
      return {
        reason: "max_connections",
        message: `the server holds its maximum of ${maxConnections} connections`,
      };
    }
    if (this.#pending >= maxPendingLogins) {
      return {
        reason: "max_pending_logins",
        message: `${maxPendingLogins} connections are already waiting to log in`,
      };
    }
    return undefined;
  }

  #refuseFrom(ip: string): AdmissionRefusal | undefined {
    const { maxPendingLoginsPerAddress } = this.#limits;
    const fromIp = this.#pendingByAddress.get(ip) ?? 0;
    if (fromIp < maxPendingLoginsPerAddress) return undefined;
    return {
      reason: "max_pending_per_address",
      message: `${maxPendingLoginsPerAddress} connections from ${ip} are already waiting to log in`,
    };
  }

  /** The slot of a connection counted in all and as pending: counts it against `ip`. */
  #slot(ip: string): AdmissionSlot {
    this.#addFrom(ip, 1);
    let state: "pending" | "logged in" | "gone" = "pending";
    return {
      ip,
      loggedIn: () => {
        if (state !== "pending") return;
        state = "logged in";
        this.#pending--;
        this.#addFrom(ip, -1);
      },
      release: () => {
        if (state === "gone") return;
        if (state === "pending") {
          this.#pending--;
          this.#addFrom(ip, -1);
        }
        state = "gone";
        this.#connections--;
      },
    };
  }

  #addFrom(ip: string, delta: 1 | -1): void {
    const count = (this.#pendingByAddress.get(ip) ?? 0) + delta;
    if (count > 0) this.#pendingByAddress.set(ip, count);
    else this.#pendingByAddress.delete(ip);
  }
}
