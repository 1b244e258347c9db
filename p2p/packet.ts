/**
 * UVF datagram codec: pure encode/decode over `Uint8Array`. Byte layouts are in
 * `docs/P2P.md` ("Packet formats"). Every datagram starts with the same 18-byte header:
 * magic/version (1), type (1), transfer or chat id (16).
 *
 * Two layers: the packets below (`encodePacket` / `decodePacket`) are what the cores
 * speak; on the wire every packet but START is sealed (`packet_protection.ts`): the
 * header, a packet number, the body's length, the body encrypted, and a tag. The
 * helpers at the end (`wireLength`, `sealedPacketNumber`, ...) read that outer layer.
 *
 * @module
 */

import { AEAD_TAG_BYTES } from "./aead.ts";
import {
  MAX_CHAT_TEXT_BYTES,
  MAX_REASON_BYTES,
  MAX_SACK_RANGES,
  SEALED_TICKET_BYTES,
} from "./limits.ts";

/**
 * First byte of every UVF datagram: protocol magic 0xB (high nibble), version 4 (version
 * 3 sealed with the whole 28-byte sealed header as associated data; version 2 sent
 * everything but chat text in clear; version 1 had unauthenticated CHAT datagrams under a
 * ticket; their datagrams are dropped).
 */
export const PACKET_MAGIC = 0xb4;
/** Offset of the type code in the header. */
const TYPE_OFFSET = 1;
/** Offset of the 16-byte transfer / chat id in the header. */
const ID_OFFSET = 2;
/** Bytes before the type-specific body. */
export const HEADER_BYTES = 18;
/** Bytes before the payload in a DATA datagram. */
export const DATA_HEADER_BYTES = HEADER_BYTES + 4;
/** Bytes in a transfer / message id. */
export const ID_BYTES = 16;
/** Bytes in a SHA-256 digest. */
export const DIGEST_BYTES = 32;
/** Bytes of a sealed datagram before its ciphertext: header, packet number u64, length u16. */
export const SEALED_HEADER_BYTES = HEADER_BYTES + 8 + 2;
/** Bytes sealing adds to a packet: packet number, length and the 16-byte AEAD tag. */
export const SEAL_OVERHEAD_BYTES = SEALED_HEADER_BYTES - HEADER_BYTES + AEAD_TAG_BYTES;
/** Largest packet number: numbers are u64 on the wire, kept exact in a double. */
export const MAX_PACKET_NUMBER = Number.MAX_SAFE_INTEGER;

/** Datagram type codes (one table; see `docs/P2P.md`). */
export const PacketType = {
  start: 1,
  data: 2,
  ack: 3,
  fin: 4,
  fin_ack: 5,
  abort: 6,
  chat: 7,
  chat_ack: 8,
  refuse: 10,
} as const;

/**
 * Type code of a DATA datagram that asks for an ACK at once (the sender can send no
 * more until one arrives); decoded as `data` with `ackNow: true`.
 */
export const DATA_ACK_NOW = 9;

/** A half-open range `[start, end)` of sequence numbers. */
export interface SeqRange {
  start: number;
  end: number;
}

/**
 * Sender → receiver, never sealed: the ticket the server sealed for the receiver, which
 * opens the transfer. Nothing in it is readable but to the receiver.
 */
export interface StartPacket {
  type: "start";
  id: Uint8Array;
  /** The sender's payload size: DATA packet `seq` holds file bytes from `seq * payloadBytes`. */
  payloadBytes: number;
  /** The sealed ticket, exactly {@linkcode SEALED_TICKET_BYTES} (`ticket.ts`). */
  sealedTicket: Uint8Array;
}
/** Sender → receiver: file bytes. */
export interface DataPacket {
  type: "data";
  id: Uint8Array;
  seq: number;
  payload: Uint8Array;
  /** The sender waits for an ACK after this one: acknowledge at once (type code 9). */
  ackNow?: boolean;
}
/** Receiver → sender: cumulative ack, window and selective ack ranges. */
export interface AckPacket {
  type: "ack";
  id: Uint8Array;
  /** Every seq below `cum` arrived. */
  cum: number;
  /** Packets the receiver can take beyond `cum`. */
  window: number;
  /** Running count of duplicate DATA packets seen (a DSACK signal). */
  dups: number;
  /** Arrived ranges above `cum`, ascending, at most {@linkcode MAX_SACK_RANGES}. */
  ranges: SeqRange[];
}
/** Sender → receiver: all data acknowledged; here is the file's SHA-256. */
export interface FinPacket {
  type: "fin";
  id: Uint8Array;
  sha256: Uint8Array;
}
/** Receiver → sender: file verified and stored. */
export interface FinAckPacket {
  type: "fin_ack";
  id: Uint8Array;
  sha256: Uint8Array;
}
/** Either direction: the transfer is over, with a reason. */
export interface AbortPacket {
  type: "abort";
  id: Uint8Array;
  code: number;
  reason: string;
}
/**
 * Receiver → sender, never sealed: a START refused before the receiver has keys for
 * the transfer (its ticket did not open, or was not admitted). Laid out as ABORT; a
 * sender heeds it only while it is still starting.
 */
export interface RefusePacket {
  type: "refuse";
  id: Uint8Array;
  code: number;
  reason: string;
}
/**
 * One private-chat message. `id` is the chat id; the message's number is the packet
 * number it is sealed under (`packet_protection.ts`), so the body is the text alone.
 */
export interface ChatPacket {
  type: "chat";
  id: Uint8Array;
  text: Uint8Array;
}
/** Acknowledges the partner's chat message `number` (the packet number it came under). */
export interface ChatAckPacket {
  type: "chat_ack";
  id: Uint8Array;
  number: number;
}

/** Every UVF datagram, discriminated on `type`. */
export type Packet =
  | StartPacket
  | DataPacket
  | AckPacket
  | FinPacket
  | FinAckPacket
  | AbortPacket
  | RefusePacket
  | ChatPacket
  | ChatAckPacket;

/** A datagram that is not a well-formed UVF packet. */
export class MalformedPacketError extends Error {
  /** @param message what was wrong. */
  constructor(message: string) {
    super(message);
    this.name = "MalformedPacketError";
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

function bodyLength(packet: Packet): number {
  switch (packet.type) {
    case "start":
      return 2 + SEALED_TICKET_BYTES;
    case "data":
      return 4 + packet.payload.length;
    case "ack":
      return 4 + 4 + 4 + 1 + 8 * packet.ranges.length;
    case "fin":
    case "fin_ack":
      return DIGEST_BYTES;
    case "abort":
    case "refuse":
      return 1 + 2 + encoder.encode(packet.reason).length;
    case "chat":
      return packet.text.length;
    case "chat_ack":
      return 8;
  }
}

function setU64(view: DataView, offset: number, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`packet number must be in 0..${MAX_PACKET_NUMBER}, got ${n}`);
  }
  view.setUint32(offset, Math.floor(n / 2 ** 32));
  view.setUint32(offset + 4, n >>> 0);
}

function getU64(view: DataView, offset: number): number {
  const n = view.getUint32(offset) * 2 ** 32 + view.getUint32(offset + 4);
  if (n > MAX_PACKET_NUMBER) throw new MalformedPacketError("packet number out of range");
  return n;
}

function checkU32(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) {
    throw new RangeError(`${what} must be a u32, got ${n}`);
  }
}

/**
 * Encodes a packet into one datagram (size worked out first, one allocation).
 *
 * @param packet the packet.
 * @returns the datagram bytes.
 * @throws {RangeError} when a field is out of range (id length, too many ranges, ...).
 * @example
 * ```ts
 * import { decodePacket, encodePacket } from "./packet.ts";
 * const id = new Uint8Array(16);
 * const bytes = encodePacket({ type: "data", id, seq: 7, payload: new Uint8Array([1, 2]) });
 * const back = decodePacket(bytes);
 * console.assert(back.type === "data" && back.seq === 7);
 * ```
 */
export function encodePacket(packet: Packet): Uint8Array {
  if (packet.id.length !== ID_BYTES) throw new RangeError(`id must be ${ID_BYTES} bytes`);
  const out = new Uint8Array(HEADER_BYTES + bodyLength(packet));
  const view = new DataView(out.buffer);
  out[0] = PACKET_MAGIC;
  out[TYPE_OFFSET] = packet.type === "data" && packet.ackNow
    ? DATA_ACK_NOW
    : PacketType[packet.type];
  out.set(packet.id, ID_OFFSET);
  let offset = HEADER_BYTES;
  switch (packet.type) {
    case "start":
      if (packet.sealedTicket.length !== SEALED_TICKET_BYTES) {
        throw new RangeError(`a sealed ticket must be ${SEALED_TICKET_BYTES} bytes`);
      }
      view.setUint16(offset, packet.payloadBytes);
      out.set(packet.sealedTicket, offset + 2);
      break;
    case "data":
      checkU32(packet.seq, "seq");
      view.setUint32(offset, packet.seq);
      out.set(packet.payload, offset + 4);
      break;
    case "ack":
      checkU32(packet.cum, "cum");
      checkU32(packet.window, "window");
      if (packet.ranges.length > MAX_SACK_RANGES) throw new RangeError("too many SACK ranges");
      view.setUint32(offset, packet.cum);
      view.setUint32(offset + 4, packet.window);
      view.setUint32(offset + 8, packet.dups >>> 0);
      out[offset + 12] = packet.ranges.length;
      offset += 13;
      for (const range of packet.ranges) {
        checkU32(range.start, "range start");
        checkU32(range.end, "range end");
        view.setUint32(offset, range.start);
        view.setUint32(offset + 4, range.end);
        offset += 8;
      }
      break;
    case "fin":
    case "fin_ack":
      if (packet.sha256.length !== DIGEST_BYTES) throw new RangeError("sha256 must be 32 bytes");
      out.set(packet.sha256, offset);
      break;
    case "abort":
    case "refuse": {
      const text = encoder.encode(packet.reason);
      if (text.length > MAX_REASON_BYTES) throw new RangeError("abort reason too long");
      out[offset] = packet.code;
      view.setUint16(offset + 1, text.length);
      out.set(text, offset + 3);
      break;
    }
    case "chat":
      if (packet.text.length > MAX_CHAT_TEXT_BYTES) throw new RangeError("chat text too long");
      out.set(packet.text, offset);
      break;
    case "chat_ack":
      setU64(view, offset, packet.number);
      break;
  }
  return out;
}

const TYPE_BY_CODE = new Map<number, Packet["type"]>([
  ...Object.entries(PacketType).map(([k, v]) => [v, k as Packet["type"]] as const),
  [DATA_ACK_NOW, "data"],
]);

/**
 * Decodes one datagram. Byte fields (`payload`, `ticket`, `mac`, ...) are copies, so the
 * caller may reuse its receive buffer.
 *
 * @param bytes the datagram.
 * @returns the packet.
 * @throws {MalformedPacketError} for anything not exactly a well-formed packet; never
 * another exception type.
 */
export function decodePacket(bytes: Uint8Array): Packet {
  const n = bytes.length;
  if (n < HEADER_BYTES) throw new MalformedPacketError(`datagram too short (${n} bytes)`);
  if (bytes[0] !== PACKET_MAGIC) throw new MalformedPacketError("bad magic/version");
  const code = bytes[TYPE_OFFSET]!;
  const type = TYPE_BY_CODE.get(code);
  if (type === undefined) throw new MalformedPacketError(`unknown packet type ${code}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, n);
  const id = bytes.slice(ID_OFFSET, HEADER_BYTES);
  let offset = HEADER_BYTES;
  const need = (k: number, what: string) => {
    if (offset + k > n) throw new MalformedPacketError(`truncated ${type} (${what})`);
  };
  const done = () => {
    if (offset !== n) throw new MalformedPacketError(`${n - offset} trailing bytes in ${type}`);
  };
  switch (type) {
    case "start": {
      need(2 + SEALED_TICKET_BYTES, "payload size and sealed ticket");
      const payloadBytes = view.getUint16(offset);
      const sealedTicket = bytes.slice(offset + 2, offset + 2 + SEALED_TICKET_BYTES);
      offset += 2 + SEALED_TICKET_BYTES;
      done();
      return { type, id, payloadBytes, sealedTicket };
    }
    case "data": {
      need(4, "seq");
      const seq = view.getUint32(offset);
      const payload = bytes.slice(offset + 4);
      return code === DATA_ACK_NOW
        ? { type, id, seq, payload, ackNow: true }
        : { type, id, seq, payload };
    }
    case "ack": {
      need(13, "fields");
      const cum = view.getUint32(offset);
      const window = view.getUint32(offset + 4);
      const dups = view.getUint32(offset + 8);
      const count = bytes[offset + 12]!;
      if (count > MAX_SACK_RANGES) throw new MalformedPacketError("too many SACK ranges");
      offset += 13;
      need(8 * count, "ranges");
      const ranges: SeqRange[] = [];
      let prev = cum;
      for (let i = 0; i < count; i++) {
        const start = view.getUint32(offset);
        const end = view.getUint32(offset + 4);
        if (start <= prev || end <= start) {
          throw new MalformedPacketError("SACK ranges not ascending above cum");
        }
        ranges.push({ start, end });
        prev = end;
        offset += 8;
      }
      done();
      return { type, id, cum, window, dups, ranges };
    }
    case "fin":
    case "fin_ack": {
      need(DIGEST_BYTES, "sha256");
      const sha256 = bytes.slice(offset, offset + DIGEST_BYTES);
      offset += DIGEST_BYTES;
      done();
      return { type, id, sha256 };
    }
    case "abort":
    case "refuse": {
      need(3, "fields");
      const code = bytes[offset]!;
      const len = view.getUint16(offset + 1);
      if (len > MAX_REASON_BYTES) throw new MalformedPacketError("abort reason too long");
      offset += 3;
      need(len, "reason");
      let reason: string;
      try {
        reason = decoder.decode(bytes.subarray(offset, offset + len));
      } catch {
        throw new MalformedPacketError("abort reason is not UTF-8");
      }
      offset += len;
      done();
      return { type, id, code, reason };
    }
    case "chat": {
      if (n - offset > MAX_CHAT_TEXT_BYTES) throw new MalformedPacketError("chat text too long");
      return { type, id, text: bytes.slice(offset) };
    }
    case "chat_ack": {
      need(8, "number");
      const number = getU64(view, offset);
      offset += 8;
      done();
      return { type, id, number };
    }
  }
}

/**
 * The length of the wire datagram at the start of `bytes` as its own header gives it,
 * for splitting a coalesced read (several datagrams back to back): a START's is fixed,
 * a sealed datagram's is its header, its length field and the tag.
 *
 * @param bytes one or more wire datagrams.
 * @returns the first datagram's length, or `undefined` when the header is too short or
 * not UVF.
 * @example
 * ```ts
 * import { SEAL_OVERHEAD_BYTES, SEALED_HEADER_BYTES, wireLength } from "./packet.ts";
 * const sealed = new Uint8Array(SEALED_HEADER_BYTES + 16);
 * sealed[0] = 0xb4;
 * sealed[1] = 3; // ACK
 * console.assert(wireLength(sealed) === 18 + SEAL_OVERHEAD_BYTES);
 * ```
 */
export function wireLength(bytes: Uint8Array): number | undefined {
  const n = bytes.length;
  if (n < HEADER_BYTES || bytes[0] !== PACKET_MAGIC) return undefined;
  if (bytes[TYPE_OFFSET] === PacketType.start) return HEADER_BYTES + 2 + SEALED_TICKET_BYTES;
  if (bytes[TYPE_OFFSET] === PacketType.refuse) {
    return n >= HEADER_BYTES + 3
      ? HEADER_BYTES + 3 + ((bytes[HEADER_BYTES + 1]! << 8) | bytes[HEADER_BYTES + 2]!)
      : undefined;
  }
  if (n < SEALED_HEADER_BYTES) return undefined;
  return SEALED_HEADER_BYTES + sealedBodyLength(bytes) + AEAD_TAG_BYTES;
}

/**
 * The packet number of a sealed datagram (its header must be whole).
 *
 * @param bytes a sealed datagram.
 * @returns the number, or -1 when it is out of range.
 */
export function sealedPacketNumber(bytes: Uint8Array): number {
  const at = HEADER_BYTES;
  const high = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) |
    bytes[at + 3]!) >>> 0;
  const low = ((bytes[at + 4]! << 24) | (bytes[at + 5]! << 16) | (bytes[at + 6]! << 8) |
    bytes[at + 7]!) >>> 0;
  const pn = high * 2 ** 32 + low;
  return pn > MAX_PACKET_NUMBER ? -1 : pn;
}

/**
 * The encrypted body's length field of a sealed datagram (its header must be whole).
 *
 * @param bytes a sealed datagram.
 * @returns the body's length, tag not included.
 */
export function sealedBodyLength(bytes: Uint8Array): number {
  return (bytes[HEADER_BYTES + 8]! << 8) | bytes[HEADER_BYTES + 9]!;
}

/**
 * Writes the packet number and body length of a sealed datagram being built, in place
 * (the header's first 18 bytes are already there).
 *
 * @param out the datagram being sealed (or a batch of them).
 * @param pn its packet number (a safe integer).
 * @param bodyLength the plaintext body's length (u16).
 * @param start where the datagram starts in `out` (0 unless `out` is a batch).
 */
export function writeSealedHeader(
  out: Uint8Array,
  pn: number,
  bodyLength: number,
  start = 0,
): void {
  const at = start + HEADER_BYTES;
  const high = Math.floor(pn / 2 ** 32);
  const low = pn >>> 0;
  out[at] = high >>> 24;
  out[at + 1] = (high >>> 16) & 0xff;
  out[at + 2] = (high >>> 8) & 0xff;
  out[at + 3] = high & 0xff;
  out[at + 4] = low >>> 24;
  out[at + 5] = (low >>> 16) & 0xff;
  out[at + 6] = (low >>> 8) & 0xff;
  out[at + 7] = low & 0xff;
  out[at + 8] = bodyLength >>> 8;
  out[at + 9] = bodyLength & 0xff;
}

/**
 * Whether a wire datagram is sent in clear: START and REFUSE, which travel before the
 * receiver has the transfer's keys. Every other type is sealed.
 *
 * @param bytes a wire datagram.
 */
export function isPlainDatagram(bytes: Uint8Array): boolean {
  const type = bytes[TYPE_OFFSET];
  return type === PacketType.start || type === PacketType.refuse;
}

/**
 * Whether a wire datagram's type byte says DATA (either code); its magic is checked too.
 *
 * @param bytes a wire datagram.
 */
export function isDataType(bytes: Uint8Array): boolean {
  const type = bytes[TYPE_OFFSET];
  return bytes[0] === PACKET_MAGIC && (type === PacketType.data || type === DATA_ACK_NOW);
}

// ---------------------------------------------------------------- in-place helpers
//
// The per-datagram paths (the sender's ring of ready-made DATA datagrams, the endpoint's
// DATA fast path and its splitting of coalesced reads) read and write header fields in
// place instead of building a packet object. These helpers are the only code outside
// encode/decode that knows where a field sits; none of them allocates, except
// `dataPayload` (a view) and `packetIdHex` (a string).

/** Type byte of a datagram being filled: no packet type, so it is malformed if sent. */
const NO_TYPE = 0;

/**
 * Bytes of a DATA packet (before sealing) that carries `payloadBytes` bytes of the file.
 *
 * @param payloadBytes the payload length.
 * @returns header plus payload.
 * @example
 * ```ts
 * import { dataDatagramBytes } from "./packet.ts";
 * console.assert(dataDatagramBytes(1400) === 1422);
 * ```
 */
export function dataDatagramBytes(payloadBytes: number): number {
  return DATA_HEADER_BYTES + payloadBytes;
}

/**
 * Bytes of a sealed DATA datagram on the wire that carries `payloadBytes` of the file.
 *
 * @param payloadBytes the payload length.
 * @returns what the socket sends: header, packet number, length, seq, payload, tag.
 * @example
 * ```ts
 * import { wireDataBytes } from "./packet.ts";
 * console.assert(wireDataBytes(1400) === 1448);
 * ```
 */
export function wireDataBytes(payloadBytes: number): number {
  return DATA_HEADER_BYTES + payloadBytes + SEAL_OVERHEAD_BYTES;
}

/**
 * Whether `bytes` begins with a whole DATA header (either type code) of this version.
 * Reads three bytes; the rest is not checked (the payload is "the rest").
 *
 * @param bytes a datagram, or several DATA datagrams back to back.
 * @returns `true` for a DATA header.
 */
export function isDataDatagram(bytes: Uint8Array): boolean {
  const type = bytes[TYPE_OFFSET];
  return bytes.length >= DATA_HEADER_BYTES && bytes[0] === PACKET_MAGIC &&
    (type === PacketType.data || type === DATA_ACK_NOW);
}

/**
 * Whether the datagram's id field equals `id` (no hex string, no copy).
 *
 * @param bytes a datagram.
 * @param id a 16-byte id.
 * @returns `true` when the header is whole and its id is `id`.
 */
export function hasPacketId(bytes: Uint8Array, id: Uint8Array): boolean {
  if (bytes.length < HEADER_BYTES) return false;
  for (let i = 0; i < ID_BYTES; i++) if (bytes[ID_OFFSET + i] !== id[i]) return false;
  return true;
}

/**
 * The datagram's id field in hex (a map key), without decoding the rest.
 *
 * @param bytes a datagram with a whole header.
 * @returns lower-case hex of its id.
 * @throws {RangeError} when the header is not whole.
 */
export function packetIdHex(bytes: Uint8Array): string {
  if (bytes.length < HEADER_BYTES) throw new RangeError("datagram shorter than a header");
  return idToHex(bytes.subarray(ID_OFFSET, HEADER_BYTES));
}

/**
 * The `seq` of a DATA datagram ({@linkcode isDataDatagram} must hold).
 *
 * @param bytes the datagram.
 * @returns its sequence number.
 */
export function dataSeq(bytes: Uint8Array): number {
  const at = HEADER_BYTES;
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) |
    bytes[at + 3]!) >>> 0;
}

/**
 * Whether a DATA datagram asks for an ACK at once (type code {@linkcode DATA_ACK_NOW}).
 *
 * @param bytes the datagram.
 * @returns `true` for type 9.
 */
export function dataAsksAckNow(bytes: Uint8Array): boolean {
  return bytes[TYPE_OFFSET] === DATA_ACK_NOW;
}

/**
 * The payload of a DATA datagram, as a view of `bytes` (not a copy).
 *
 * @param bytes the datagram ({@linkcode isDataDatagram} must hold).
 * @returns the bytes after the DATA header.
 */
export function dataPayload(bytes: Uint8Array): Uint8Array {
  return bytes.subarray(DATA_HEADER_BYTES);
}

/**
 * Prepares a reusable DATA datagram buffer for transfer `id`: writes the fields that
 * never change (magic, id) and marks it unsendable (as {@linkcode invalidateDatagram})
 * until {@linkcode writeDataHeader} gives it a type and a seq.
 *
 * @param datagram at least {@linkcode DATA_HEADER_BYTES} bytes.
 * @param id the 16-byte transfer id.
 */
export function initDataDatagram(datagram: Uint8Array, id: Uint8Array): void {
  datagram[0] = PACKET_MAGIC;
  datagram[TYPE_OFFSET] = NO_TYPE;
  datagram.set(id, ID_OFFSET);
}

/**
 * Writes the fields of a DATA header that change per send, in place: the type code
 * (DATA, or {@linkcode DATA_ACK_NOW}) and `seq`. Magic and id are already there
 * ({@linkcode initDataDatagram}).
 *
 * @param datagram a buffer prepared by {@linkcode initDataDatagram}, payload filled.
 * @param seq the packet's sequence number (u32).
 * @param ackNow whether to ask the receiver for an ACK at once.
 * @example
 * ```ts
 * import { dataPayload, decodePacket, initDataDatagram, writeDataHeader } from "./packet.ts";
 * const datagram = new Uint8Array(22 + 3);
 * initDataDatagram(datagram, new Uint8Array(16).fill(1));
 * dataPayload(datagram).set([7, 8, 9]);
 * writeDataHeader(datagram, 42, false);
 * const p = decodePacket(datagram);
 * console.assert(p.type === "data" && p.seq === 42 && p.payload[2] === 9);
 * ```
 */
export function writeDataHeader(datagram: Uint8Array, seq: number, ackNow: boolean): void {
  const at = HEADER_BYTES;
  datagram[TYPE_OFFSET] = ackNow ? DATA_ACK_NOW : PacketType.data;
  datagram[at] = seq >>> 24;
  datagram[at + 1] = (seq >>> 16) & 0xff;
  datagram[at + 2] = (seq >>> 8) & 0xff;
  datagram[at + 3] = seq & 0xff;
}

/**
 * Marks a datagram buffer that is being refilled as no packet at all (its type byte
 * becomes 0): a stale view of it that a deferred send still holds then reaches the
 * peer as a malformed datagram, dropped, never misread as another packet.
 *
 * @param datagram the buffer.
 */
export function invalidateDatagram(datagram: Uint8Array): void {
  datagram[TYPE_OFFSET] = NO_TYPE;
}

/**
 * Hex form of a 16-byte id, used as a map key and in ticket `transferId`.
 *
 * @param id the id bytes.
 * @returns lower-case hex.
 */
export function idToHex(id: Uint8Array): string {
  let s = "";
  for (const b of id) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * Parses a 32-character hex id.
 *
 * @param hex lower- or upper-case hex.
 * @returns the 16 id bytes.
 * @throws {SyntaxError} when `hex` is not 32 hex digits.
 */
export function hexToId(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new SyntaxError(`not a 16-byte hex id: ${hex}`);
  const out = new Uint8Array(ID_BYTES);
  for (let i = 0; i < ID_BYTES; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Bytes of a sealed datagram's associated data ({@linkcode writeSealedAad}). */
export const SEALED_AAD_BYTES = 13;

/**
 * The associated data a sealed datagram's body is sealed with, from its header:
 *
 * ```
 * pn u64 · magic (1) · type (1) · 0 (1) · len u16        (13 bytes)
 * ```
 *
 * The layout of a TLS 1.2 record's (sequence number, type, version, length), so that
 * libcrypto seals a datagram in one call (`aead.ts`). The id is not in it: it is bound
 * by the key, which HKDF derives with the id as salt (`packet_protection.ts`).
 *
 * @param datagram a sealed datagram whose header, number and length are written (or a
 * batch of them).
 * @param start where the datagram starts in `datagram`.
 * @param aad {@linkcode SEALED_AAD_BYTES} to write.
 * @example
 * ```ts
 * import { SEALED_AAD_BYTES, SEALED_HEADER_BYTES, writeSealedAad, writeSealedHeader } from "./packet.ts";
 * const sealed = new Uint8Array(SEALED_HEADER_BYTES + 16);
 * sealed[0] = 0xb4;
 * sealed[1] = 3; // ACK
 * writeSealedHeader(sealed, 7, 0);
 * const aad = new Uint8Array(SEALED_AAD_BYTES);
 * writeSealedAad(sealed, 0, aad);
 * console.assert(aad.join() === "0,0,0,0,0,0,0,7,180,3,0,0,0");
 * ```
 */
export function writeSealedAad(datagram: Uint8Array, start: number, aad: Uint8Array): void {
  const at = start + HEADER_BYTES;
  for (let i = 0; i < 8; i++) aad[i] = datagram[at + i]!;
  aad[8] = datagram[start]!;
  aad[9] = datagram[start + TYPE_OFFSET]!;
  aad[10] = 0;
  aad[11] = datagram[at + 8]!;
  aad[12] = datagram[at + 9]!;
}
