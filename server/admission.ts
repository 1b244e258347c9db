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
    const { maxConnections, maxPendingLogins, maxPendingLoginsPerAddress } = this.#limits;
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
    const fromIp = this.#pendingByAddress.get(ip) ?? 0;
    if (fromIp >= maxPendingLoginsPerAddress) {
      return {
        reason: "max_pending_per_address",
        message:
          `${maxPendingLoginsPerAddress} connections from ${ip} are already waiting to log in`,
      };
    }
    this.#connections++;
    this.#addPending(ip, 1);
    let state: "pending" | "logged in" | "gone" = "pending";
    return {
      ip,
      loggedIn: () => {
        if (state !== "pending") return;
        state = "logged in";
        this.#addPending(ip, -1);
      },
      release: () => {
        if (state === "gone") return;
        if (state === "pending") this.#addPending(ip, -1);
        state = "gone";
        this.#connections--;
      },
    };
  }

  #addPending(ip: string, delta: 1 | -1): void {
    this.#pending += delta;
    const count = (this.#pendingByAddress.get(ip) ?? 0) + delta;
    if (count > 0) this.#pendingByAddress.set(ip, count);
    else this.#pendingByAddress.delete(ip);
  }
}
