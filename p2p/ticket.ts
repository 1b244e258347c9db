/**
 * One-time transfer tickets: the server signs them with HMAC-SHA256 under the
 * **receiver's** ticket key; the receiver checks them before it accepts a transfer. The
 * signed bytes are a canonical JSON array (see `docs/P2P.md`, "Tickets"), and those same
 * bytes travel in START datagrams, so the receiver verifies exactly what it parses.
 * (Private chats need no ticket: the server gives both ends a chat secret, `chat_keys.ts`.)
 *
 * @module
 */

import { createHmac, timingSafeEqual } from "node:crypto";
import { MAX_FILE_BYTES, MAX_TICKET_BYTES } from "./limits.ts";

/** Domain-separation tag, first element of every canonical ticket. */
export const TICKET_TAG = "iotnet-ticket-v1";
/** Bytes in a ticket key. */
export const TICKET_KEY_BYTES = 32;
/** Longest device name a ticket may carry. */
export const MAX_TICKET_NAME_CHARS = 64;
/** Longest file name a ticket may carry (the receiver sanitises it further). */
export const MAX_TICKET_FILENAME_CHARS = 255;

/** A ticket introducing one file transfer from `from` to `to`. */
export interface FileTicket {
  /** The kind of ticket. */
  kind: "file";
  /** 16 random bytes, lower-case hex. */
  transferId: string;
  /** The sending device. */
  from: string;
  /** The receiving device, whose key signs the ticket. */
  to: string;
  /** The file's name as the sender gives it. */
  filename: string;
  /** Exact file size in bytes. */
  size: number;
  /** Milliseconds since the Unix epoch. */
  expiresAt: number;
}

/** Any ticket (one kind today; `kind` leaves room for others). */
export type Ticket = FileTicket;

/** A ticket and its HMAC-SHA256 tag (lower-case hex), as the server hands it out. JSON-safe. */
export interface SignedTicket<T extends Ticket = Ticket> {
  /** The ticket's fields. */
  ticket: T;
  /** HMAC-SHA256 of the ticket's canonical bytes, lower-case hex. */
  mac: string;
}

/** A ticket that is not well-formed. */
export class MalformedTicketError extends Error {
  /** @param message what was wrong. */
  constructor(message: string) {
    super(message);
    this.name = "MalformedTicketError";
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function isName(v: unknown, max: number): v is string {
  return typeof v === "string" && v.length > 0 && v.length <= max;
}

function checkTicket(t: Ticket): void {
  const bad = (what: string) => {
    throw new MalformedTicketError(`ticket field ${what} is invalid`);
  };
  if (!isName(t.from, MAX_TICKET_NAME_CHARS)) bad("from");
  if (!isName(t.to, MAX_TICKET_NAME_CHARS)) bad("to");
  if (!Number.isSafeInteger(t.expiresAt) || t.expiresAt < 0) bad("expiresAt");
  if (t.kind === "file") {
    if (typeof t.transferId !== "string" || !/^[0-9a-f]{32}$/.test(t.transferId)) {
      bad("transferId");
    }
    if (!isName(t.filename, MAX_TICKET_FILENAME_CHARS)) bad("filename");
    if (!Number.isSafeInteger(t.size) || t.size < 0 || t.size > MAX_FILE_BYTES) bad("size");
  } else {
    bad("kind");
  }
}

/**
 * The canonical bytes of a ticket: what is signed and what travels on the wire.
 *
 * @param t the ticket.
 * @returns UTF-8 JSON array bytes.
 * @throws {MalformedTicketError} when a field is invalid or the encoding is too long.
 */
export function encodeTicket(t: Ticket): Uint8Array<ArrayBuffer> {
  checkTicket(t);
  const arr = [TICKET_TAG, "file", t.transferId, t.from, t.to, t.filename, t.size, t.expiresAt];
  const bytes = encoder.encode(JSON.stringify(arr));
  if (bytes.length > MAX_TICKET_BYTES) {
    throw new MalformedTicketError(
      `ticket encodes to ${bytes.length} bytes (max ${MAX_TICKET_BYTES})`,
    );
  }
  return bytes;
}

/**
 * Parses canonical ticket bytes (the reverse of {@linkcode encodeTicket}).
 *
 * @param bytes canonical ticket bytes.
 * @returns the ticket.
 * @throws {MalformedTicketError} for anything but a well-formed ticket.
 */
export function decodeTicket(bytes: Uint8Array): Ticket {
  let arr: unknown;
  try {
    arr = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new MalformedTicketError("ticket is not UTF-8 JSON");
  }
  if (!Array.isArray(arr) || arr[0] !== TICKET_TAG) {
    throw new MalformedTicketError("not an iotnet ticket");
  }
  let t: Ticket;
  if (arr[1] === "file" && arr.length === 8) {
    const [, , transferId, from, to, filename, size, expiresAt] = arr;
    t = { kind: "file", transferId, from, to, filename, size, expiresAt };
  } else {
    throw new MalformedTicketError("unknown ticket kind or field count");
  }
  checkTicket(t);
  return t;
}

async function hmacKey(key: Uint8Array, usage: "sign" | "verify"): Promise<CryptoKey> {
  if (key.length !== TICKET_KEY_BYTES) {
    throw new RangeError(`ticket key must be ${TICKET_KEY_BYTES} bytes, got ${key.length}`);
  }
  return await crypto.subtle.importKey(
    "raw",
    key.slice(),
    { name: "HMAC", hash: "SHA-256" },
    false,
    [usage],
  );
}

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * Parses lower- or upper-case hex.
 *
 * @throws {SyntaxError} for odd length or non-hex characters.
 */
export function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new SyntaxError("not a hex string");
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Signs a ticket with HMAC-SHA256 under the receiver's ticket key (the server does this).
 *
 * @param key the receiver's 32-byte ticket key.
 * @param fields the ticket.
 * @returns the ticket with its hex MAC.
 * @throws {RangeError} when the key is not 32 bytes.
 * @throws {MalformedTicketError} when a field is invalid.
 * @example
 * ```ts
 * import { newTicketKey, newTransferId, signTicket, verifyTicket } from "./ticket.ts";
 * const key = newTicketKey();
 * const signed = await signTicket(key, {
 *   kind: "file", transferId: newTransferId(), from: "a", to: "b",
 *   filename: "x.txt", size: 3, expiresAt: Date.now() + 60_000,
 * });
 * console.assert(await verifyTicket(key, signed));
 * ```
 */
export async function signTicket<T extends Ticket>(
  key: Uint8Array,
  fields: T,
): Promise<SignedTicket<T>> {
  const bytes = encodeTicket(fields);
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(key, "sign"), bytes);
  return { ticket: { ...fields }, mac: toHex(new Uint8Array(mac)) };
}

/**
 * Checks a ticket's MAC under a key (constant-time). Does not check expiry, replay or
 * the `to` name: the receiving endpoint does that.
 *
 * @param key the 32-byte ticket key.
 * @param signed the ticket and MAC.
 * @returns `true` when the MAC verifies; `false` for a bad MAC or a malformed ticket.
 */
export async function verifyTicket(key: Uint8Array, signed: SignedTicket): Promise<boolean> {
  let bytes: Uint8Array<ArrayBuffer>;
  let mac: Uint8Array<ArrayBuffer>;
  try {
    bytes = encodeTicket(signed.ticket);
    mac = fromHex(signed.mac);
  } catch {
    return false;
  }
  if (mac.length !== 32) return false;
  return await crypto.subtle.verify("HMAC", await hmacKey(key, "verify"), mac, bytes);
}

/**
 * Synchronous MAC check over canonical ticket bytes, for the sans-I/O datagram path
 * (same HMAC-SHA256 as {@linkcode verifyTicket}, via `node:crypto`).
 *
 * @param key the 32-byte ticket key.
 * @param bytes canonical ticket bytes as received.
 * @param mac the 32-byte tag as received.
 * @returns `true` when the tag verifies.
 */
export function verifyTicketBytes(key: Uint8Array, bytes: Uint8Array, mac: Uint8Array): boolean {
  if (key.length !== TICKET_KEY_BYTES || mac.length !== 32) return false;
  const expect = createHmac("sha256", key).update(bytes).digest();
  return timingSafeEqual(expect, mac);
}

/**
 * Draws a ticket key: the server gives one to each device at login.
 *
 * @returns a fresh random 32-byte key.
 */
export function newTicketKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(TICKET_KEY_BYTES));
}

/**
 * Draws a transfer id for a new file ticket.
 *
 * @returns 16 random bytes as lower-case hex.
 */
export function newTransferId(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(16)));
}
