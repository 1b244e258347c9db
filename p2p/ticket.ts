/**
 * One-time transfer tickets: the server seals each one (ChaCha20-Poly1305) under a key
 * derived from the **receiver's** session key, with a fresh secret for the transfer
 * inside; the sender carries the sealed bytes in START without being able to read or
 * change them, and the receiver opens them before it accepts a transfer. Every ticket is
 * padded to one length before sealing, so START shows neither the file name nor its size
 * (see `docs/P2P.md`, "Tickets"). (Private chats need no ticket: the server gives both
 * ends a chat secret.)
 *
 * @module
 */

import { hkdfSync } from "node:crypto";
import { type Aead, AEAD_NONCE_BYTES, AEAD_TAG_BYTES, openAead } from "./aead.ts";
import { MAX_FILE_BYTES, MAX_TICKET_BYTES, SEALED_TICKET_BYTES } from "./limits.ts";
import { PEER_SECRET_BYTES } from "./packet_protection.ts";

/** Domain-separation tag, first element of every canonical ticket. */
export const TICKET_TAG = "iotnet-ticket-v3";
/** Bytes in a ticket key (the session key the server gives a device at login). */
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

/**
 * What the server hands the sender (JSON-safe): the ticket's fields, the ticket sealed
 * for the receiver, and the transfer's secret.
 */
export interface SealedTicket<T extends Ticket = Ticket> {
  /** The ticket's fields, for the sender. */
  ticket: T;
  /** The sealed ticket ({@linkcode SEALED_TICKET_BYTES}), base64: START carries it. */
  sealed: string;
  /** The transfer's secret ({@linkcode PEER_SECRET_BYTES}), base64. */
  secret: string;
}

/** A ticket as the receiver opened it: its fields and the transfer's secret. */
export interface OpenedTicket<T extends Ticket = Ticket> {
  /** The ticket's fields. */
  ticket: T;
  /** The transfer's secret. */
  secret: Uint8Array;
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
 * The canonical bytes of a ticket with its transfer's secret: what is sealed.
 *
 * @param t the ticket.
 * @param secret the transfer's secret ({@linkcode PEER_SECRET_BYTES}).
 * @returns UTF-8 JSON array bytes.
 * @throws {MalformedTicketError} when a field is invalid or the encoding is too long.
 */
export function encodeTicket(t: Ticket, secret: Uint8Array): Uint8Array<ArrayBuffer> {
  checkTicket(t);
  if (secret.length !== PEER_SECRET_BYTES) {
    throw new MalformedTicketError(`a transfer secret must be ${PEER_SECRET_BYTES} bytes`);
  }
  const arr = [
    TICKET_TAG,
    "file",
    t.transferId,
    t.from,
    t.to,
    t.filename,
    t.size,
    t.expiresAt,
    toBase64(secret),
  ];
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
 * @returns the ticket and its secret.
 * @throws {MalformedTicketError} for anything but a well-formed ticket.
 */
export function decodeTicket(bytes: Uint8Array): OpenedTicket {
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
  let secret: Uint8Array;
  if (arr[1] === "file" && arr.length === 9) {
    const [, , transferId, from, to, filename, size, expiresAt, secretText] = arr;
    t = { kind: "file", transferId, from, to, filename, size, expiresAt };
    try {
      secret = fromBase64(String(secretText));
    } catch {
      throw new MalformedTicketError("ticket secret is not base64");
    }
    if (secret.length !== PEER_SECRET_BYTES) {
      throw new MalformedTicketError("ticket secret has the wrong length");
    }
  } else {
    throw new MalformedTicketError("unknown ticket kind or field count");
  }
  checkTicket(t);
  return { ticket: t, secret };
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
 * Base64 of bytes.
 *
 * @param bytes any bytes.
 * @returns standard base64 with padding.
 */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/**
 * Parses standard base64.
 *
 * @throws {SyntaxError} for text that is not base64.
 */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new SyntaxError("not base64");
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/**
 * The key tickets to a device are sealed under, from its session key:
 * HKDF-SHA256(ikm = session key, no salt, info = {@linkcode TICKET_TAG}).
 *
 * @param sessionKey the device's {@linkcode TICKET_KEY_BYTES}-byte session key.
 * @returns a 32-byte ChaCha20-Poly1305 key.
 * @throws {RangeError} when the session key is not 32 bytes.
 */
export function ticketSealKey(sessionKey: Uint8Array): Uint8Array {
  if (sessionKey.length !== TICKET_KEY_BYTES) {
    throw new RangeError(
      `ticket key must be ${TICKET_KEY_BYTES} bytes, got ${sessionKey.length}`,
    );
  }
  return new Uint8Array(hkdfSync("sha256", sessionKey, new Uint8Array(0), TICKET_TAG, 32));
}

/** The associated data of a sealed ticket: the tag and the transfer id (START's id). */
function ticketAad(transferId: Uint8Array): Uint8Array {
  const tag = encoder.encode(TICKET_TAG);
  const aad = new Uint8Array(tag.length + transferId.length);
  aad.set(tag);
  aad.set(transferId, tag.length);
  return aad;
}

/**
 * Seals a ticket for its receiver (the server does this): draws the transfer's secret,
 * pads the canonical ticket to {@linkcode MAX_TICKET_BYTES} and seals it under the key
 * derived from the receiver's session key, with a random nonce and the transfer id as
 * associated data.
 *
 * @param sessionKey the receiver's 32-byte session key.
 * @param fields the ticket.
 * @returns what the sender is given.
 * @throws {RangeError} when the key is not 32 bytes.
 * @throws {MalformedTicketError} when a field is invalid or the ticket too long.
 * @example
 * ```ts
 * import { newTicketKey, newTransferId, openTicket, sealTicket, ticketSealKey, fromBase64 } from "./ticket.ts";
 * import { openAead } from "./aead.ts";
 * const key = newTicketKey();
 * const transferId = newTransferId();
 * const given = sealTicket(key, {
 *   kind: "file", transferId, from: "a", to: "b",
 *   filename: "x.txt", size: 3, expiresAt: Date.now() + 60_000,
 * });
 * const id = Uint8Array.from(transferId.match(/../g)!, (h) => parseInt(h, 16));
 * const opened = openTicket(openAead("node"), ticketSealKey(key), id, fromBase64(given.sealed));
 * console.assert(opened.ticket.filename === "x.txt");
 * ```
 */
export function sealTicket<T extends Ticket>(sessionKey: Uint8Array, fields: T): SealedTicket<T> {
  const key = ticketSealKey(sessionKey);
  const secret = crypto.getRandomValues(new Uint8Array(PEER_SECRET_BYTES));
  const plaintext = new Uint8Array(MAX_TICKET_BYTES);
  plaintext.set(encodeTicket(fields, secret));
  const sealed = new Uint8Array(SEALED_TICKET_BYTES);
  const nonce = sealed.subarray(0, AEAD_NONCE_BYTES);
  crypto.getRandomValues(nonce);
  const aead = openAead("node");
  aead.seal(
    key,
    nonce,
    ticketAad(fromHex(fields.transferId)),
    plaintext,
    sealed.subarray(AEAD_NONCE_BYTES),
  );
  aead.close();
  return { ticket: { ...fields }, sealed: toBase64(sealed), secret: toBase64(secret) };
}

/**
 * Opens a sealed ticket (the receiver does this on START).
 *
 * @param aead the endpoint's AEAD.
 * @param sealKey {@linkcode ticketSealKey} of this device's session key.
 * @param transferId START's id (the associated data).
 * @param sealed the {@linkcode SEALED_TICKET_BYTES} from START.
 * @returns the ticket and the transfer's secret.
 * @throws {MalformedTicketError} when it does not open under this key (forged, edited,
 * for another device or session, or moved to another id) or is not a well-formed ticket.
 */
export function openTicket(
  aead: Aead,
  sealKey: Uint8Array,
  transferId: Uint8Array,
  sealed: Uint8Array,
): OpenedTicket {
  if (sealed.length !== SEALED_TICKET_BYTES) {
    throw new MalformedTicketError(`a sealed ticket is ${SEALED_TICKET_BYTES} bytes`);
  }
  const plaintext = new Uint8Array(SEALED_TICKET_BYTES - AEAD_NONCE_BYTES - AEAD_TAG_BYTES);
  const ok = aead.open(
    sealKey,
    sealed.subarray(0, AEAD_NONCE_BYTES),
    ticketAad(transferId),
    sealed.subarray(AEAD_NONCE_BYTES),
    plaintext,
  );
  if (!ok) throw new MalformedTicketError("ticket does not open under this device's key");
  let end = plaintext.length;
  while (end > 0 && plaintext[end - 1] === 0) end--;
  return decodeTicket(plaintext.subarray(0, end));
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
