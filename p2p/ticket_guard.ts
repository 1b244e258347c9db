/**
 * Admission of transfers: a START is accepted only if its sealed ticket opens under the
 * key derived from this device's session key (with START's id as associated data), it
 * names this device as `to`, it has not expired, and its transfer id matches and was
 * never used before. Synchronous, so the datagram path needs no awaits.
 *
 * @module
 */

import type { Aead } from "./aead.ts";
import type { AbortReason } from "./errors.ts";
import { idToHex, type StartPacket } from "./packet.ts";
import {
  type FileTicket,
  MalformedTicketError,
  type OpenedTicket,
  openTicket,
  type Ticket,
  ticketSealKey,
} from "./ticket.ts";

/** Most transfer ids remembered against replay; the oldest-expiring go first. */
export const MAX_REMEMBERED_TICKETS = 100_000;

/** The outcome of an admission check. */
export type Admission<T extends Ticket> =
  | { ok: true; ticket: T; secret: Uint8Array }
  | { ok: false; reason: AbortReason; message: string };

/** Checks tickets against this device's key, name, the clock and the replay set. */
export class TicketGuard {
  readonly #aead: Aead;
  #sealKey: Uint8Array | undefined;
  #name: string | undefined;
  /** transferId → expiresAt */
  #used = new Map<string, number>();

  /** @param aead the endpoint's AEAD, to open sealed tickets with. */
  constructor(aead: Aead) {
    this.#aead = aead;
  }

  /**
   * Sets the key (and, when known, the device name `to` must match).
   *
   * @param key this device's 32-byte session (ticket) key.
   * @param name this device's name.
   * @throws {RangeError} when the key is not 32 bytes.
   */
  setIdentity(key: Uint8Array, name?: string): void {
    this.#sealKey = ticketSealKey(key);
    if (name !== undefined) this.#name = name;
  }

  #open(start: StartPacket, now: number): Admission<Ticket> {
    if (!this.#sealKey) {
      return { ok: false, reason: "bad_ticket", message: "no ticket key yet" };
    }
    let opened: OpenedTicket;
    try {
      opened = openTicket(this.#aead, this.#sealKey, start.id, start.sealedTicket);
    } catch (e) {
      if (!(e instanceof MalformedTicketError)) throw e;
      return { ok: false, reason: "bad_ticket", message: e.message };
    }
    const ticket = opened.ticket;
    if (this.#name !== undefined && ticket.to !== this.#name) {
      return { ok: false, reason: "bad_ticket", message: "ticket is for another device" };
    }
    if (ticket.expiresAt <= now) return { ok: false, reason: "expired", message: "ticket expired" };
    return { ok: true, ticket, secret: opened.secret };
  }

  /**
   * Admits a START. On success the transfer id is marked used (one-time tickets).
   *
   * @param start the START packet.
   * @param now current time, ms since the epoch.
   * @param refuse the caller's own check of a valid, unused ticket (busy, blocked); a
   * ticket it refuses stays unused.
   */
  admitStart(
    start: StartPacket,
    now: number,
    refuse?: (ticket: FileTicket) => { reason: AbortReason; message: string } | undefined,
  ): Admission<FileTicket> {
    const verified = this.#open(start, now);
    if (!verified.ok) return verified;
    const ticket = verified.ticket;
    if (ticket.transferId !== idToHex(start.id)) {
      return { ok: false, reason: "bad_ticket", message: "transfer id does not match ticket" };
    }
    if (this.#used.has(ticket.transferId)) {
      return { ok: false, reason: "replayed", message: "ticket already used" };
    }
    const refused = refuse?.(ticket);
    if (refused) return { ok: false, ...refused };
    this.#remember(this.#used, ticket.transferId, ticket.expiresAt, now);
    return { ok: true, ticket, secret: verified.secret };
  }

  #remember(map: Map<string, number>, id: string, expiresAt: number, now: number): void {
    if (map.size >= MAX_REMEMBERED_TICKETS) {
      for (const [old, oldExpiresAt] of map) if (oldExpiresAt <= now) map.delete(old);
      // Still full: forget the oldest entry (insertion order).
      if (map.size >= MAX_REMEMBERED_TICKETS) map.delete(map.keys().next().value!);
    }
    map.set(id, expiresAt);
  }
}
