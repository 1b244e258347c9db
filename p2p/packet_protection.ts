/**
 * Sealing of peer datagrams (QUIC's packet protection, RFC 9001 §5.3, and DTLS 1.3's
 * replay window, RFC 9147 §4.5.1). Each direction of a transfer or chat has its own key
 * and IV, derived with HKDF-SHA256 from the secret the server handed both ends; every
 * datagram it carries gets the next packet number of that direction, never reused, and
 * is sealed with ChaCha20-Poly1305 under the nonce `IV xor packet number`:
 *
 * ```
 * header (18: magic, type, id) · pn u64 · len u16 · body encrypted (len) · tag (16)
 * ```
 *
 * The associated data is the packet number, magic, type and length (`writeSealedAad`,
 * 13 bytes, a TLS record's layout, so libcrypto seals a datagram in two FFI calls); the
 * id is bound by the key, derived with it as salt, and an opener drops a datagram that
 * carries any id but its own. A receiver drops a datagram whose number its replay window
 * has seen or left behind before it spends a decryption on it, and slides the window only
 * after the tag verified.
 *
 * @module
 */

import { hkdfSync } from "node:crypto";
import { type Aead, AEAD_KEY_BYTES, AEAD_NONCE_BYTES, AEAD_TAG_BYTES } from "./aead.ts";
import {
  hasPacketId,
  HEADER_BYTES,
  MAX_PACKET_NUMBER,
  SEAL_OVERHEAD_BYTES,
  SEALED_AAD_BYTES,
  SEALED_HEADER_BYTES,
  sealedBodyLength,
  sealedPacketNumber,
  writeSealedAad,
  writeSealedHeader,
} from "./packet.ts";
import { ReplayWindow } from "./replay_window.ts";

/** Bytes in the secret of one transfer or chat (from the server). */
export const PEER_SECRET_BYTES = 32;

/** The key and IV of one direction, and the transfer or chat they were derived for. */
export interface DirectionKey {
  /** ChaCha20-Poly1305 key. */
  key: Uint8Array;
  /** XORed with the packet number into each nonce. */
  iv: Uint8Array;
  /**
   * The 16-byte transfer or chat id (the derivation's salt): the only id a datagram
   * opened under this key may carry, which binds the id in the header as if it were in
   * the associated data.
   */
  id: Uint8Array;
}

/** What the keys are for: a label per purpose keeps transfer and chat keys apart. */
export type KeyPurpose = "iotnet-uvf-v4" | "iotnet-chat-v4";

/**
 * The key of the direction `from` → `to`: HKDF-SHA256 (RFC 5869) with the secret as
 * input keying material, the transfer or chat id as salt and `[purpose, from, to]`
 * (JSON) as info; 44 bytes, the key then the IV.
 *
 * @param secret the transfer's or chat's secret ({@linkcode PEER_SECRET_BYTES}).
 * @param id the 16-byte transfer or chat id.
 * @param purpose the label.
 * @param route the sending and the receiving device.
 * @returns the direction's key and IV.
 * @throws {RangeError} when the secret is not {@linkcode PEER_SECRET_BYTES} bytes.
 * @example
 * ```ts
 * import { deriveDirectionKey } from "./packet_protection.ts";
 * const secret = new Uint8Array(32), id = new Uint8Array(16);
 * const ab = deriveDirectionKey(secret, id, "iotnet-uvf-v4", { from: "a", to: "b" });
 * const ba = deriveDirectionKey(secret, id, "iotnet-uvf-v4", { from: "b", to: "a" });
 * console.assert(ab.key.join() !== ba.key.join());
 * ```
 */
export function deriveDirectionKey(
  secret: Uint8Array,
  id: Uint8Array,
  purpose: KeyPurpose,
  route: { from: string; to: string },
): DirectionKey {
  if (secret.length !== PEER_SECRET_BYTES) {
    throw new RangeError(`a peer secret must be ${PEER_SECRET_BYTES} bytes, got ${secret.length}`);
  }
  const info = JSON.stringify([purpose, route.from, route.to]);
  const okm = new Uint8Array(
    hkdfSync("sha256", secret, id, info, AEAD_KEY_BYTES + AEAD_NONCE_BYTES),
  );
  return { key: okm.subarray(0, AEAD_KEY_BYTES), iv: okm.subarray(AEAD_KEY_BYTES), id: id.slice() };
}

/** A direction whose packet numbers are used up (2^53 datagrams: never in practice). */
export class PacketNumbersExhaustedError extends Error {
  constructor() {
    super("this direction has used every packet number; start a new transfer or chat");
    this.name = "PacketNumbersExhaustedError";
  }
}

/** The sending half of one direction: its key and its next packet number. */
export class PacketSealer {
  readonly #aead: Aead;
  readonly #key: DirectionKey;
  readonly #aad = new Uint8Array(SEALED_AAD_BYTES);
  #next = 0;

  /**
   * @param aead the endpoint's AEAD.
   * @param key the direction's key.
   */
  constructor(aead: Aead, key: DirectionKey) {
    this.#aead = aead;
    this.#key = key;
  }

  /** The packet number the next datagram gets (= datagrams sealed so far). */
  get nextPacketNumber(): number {
    return this.#next;
  }

  /**
   * Seals one packet into `out` under the next packet number.
   *
   * @param packet an encoded packet (header and body, `encodePacket`), not START.
   * @param out at least `packet.length + SEAL_OVERHEAD_BYTES` bytes; must not overlap
   * `packet`.
   * @returns the sealed datagram's length (written from `out[0]`).
   * @throws {PacketNumbersExhaustedError} after 2^53 datagrams.
   */
  sealInto(packet: Uint8Array, out: Uint8Array): number {
    return this.#sealAt(packet, 0, packet.length, out, 0);
  }

  /**
   * Seals the packet `packets[at, at + length)` into `out` from `outAt`: the two views
   * the AEAD call takes are the only objects made per datagram.
   */
  #sealAt(
    packets: Uint8Array,
    at: number,
    length: number,
    out: Uint8Array,
    outAt: number,
  ): number {
    const pn = this.#next;
    if (pn > MAX_PACKET_NUMBER) throw new PacketNumbersExhaustedError();
    this.#next = pn + 1;
    const bodyLength = length - HEADER_BYTES;
    for (let i = 0; i < HEADER_BYTES; i++) out[outAt + i] = packets[at + i]!;
    writeSealedHeader(out, pn, bodyLength, outAt);
    writeSealedAad(out, outAt, this.#aad);
    const sealedAt = outAt + SEALED_HEADER_BYTES;
    this.#aead.sealNumbered(
      this.#key.key,
      this.#key.iv,
      this.#aad,
      packets.subarray(at + HEADER_BYTES, at + length),
      out.subarray(sealedAt, sealedAt + bodyLength + AEAD_TAG_BYTES),
    );
    return length + SEAL_OVERHEAD_BYTES;
  }

  /**
   * Seals one packet into a new buffer.
   *
   * @param packet an encoded packet, not START.
   * @returns the sealed datagram.
   */
  seal(packet: Uint8Array): Uint8Array {
    const out = new Uint8Array(packet.length + SEAL_OVERHEAD_BYTES);
    this.sealInto(packet, out);
    return out;
  }

  /**
   * Seals `count` packets lying back to back in `packets`, each `size` bytes but the
   * last (which may be shorter), into `out` back to back: one `send()` for them all.
   *
   * @param packets the packets.
   * @param count how many.
   * @param size the length of each but the last.
   * @param out room for them all sealed.
   * @returns the bytes written to `out`.
   */
  sealBatch(packets: Uint8Array, count: number, size: number, out: Uint8Array): number {
    let written = 0;
    for (let i = 0, at = 0; i < count; i++, at += size) {
      written += this.#sealAt(packets, at, Math.min(size, packets.length - at), out, written);
    }
    return written;
  }
}

/** The receiving half of one direction: its key and its replay window. */
export class PacketOpener {
  readonly #aead: Aead;
  readonly #key: DirectionKey;
  readonly #window: ReplayWindow;
  readonly #aad = new Uint8Array(SEALED_AAD_BYTES);
  /** The packet number of the datagram last opened. */
  #lastPacketNumber = -1;
  /** Whether that datagram's number had been seen before (opened only on request). */
  #lastSeen = false;

  /**
   * @param aead the endpoint's AEAD.
   * @param key the direction's key (the partner's sending key).
   * @param windowSize packet numbers remembered below the highest.
   */
  constructor(aead: Aead, key: DirectionKey, windowSize: number) {
    this.#aead = aead;
    this.#key = key;
    this.#window = new ReplayWindow(windowSize);
  }

  /** Packet number of the datagram {@linkcode open} last returned. */
  get lastPacketNumber(): number {
    return this.#lastPacketNumber;
  }

  /** Whether the datagram {@linkcode open} last returned was a repeat (see `allowSeen`). */
  get lastSeen(): boolean {
    return this.#lastSeen;
  }

  /**
   * Opens a sealed datagram in place. Dropped (`undefined`): a length that does not
   * match, a number below the window or already seen (unless `allowSeen`), a tag that
   * does not verify. The window takes the number only after the tag verified.
   *
   * @param datagram one sealed datagram as received; overwritten (decrypted in place,
   * garbage when `undefined` comes back).
   * @param allowSeen return a repeat of a datagram already opened too (an authentic
   * retransmission, e.g. a chat message whose ack was lost); `lastSeen` tells.
   * @returns the packet (header and plaintext body, for `decodePacket`), a view of
   * `datagram`; `undefined` when the datagram is to be dropped.
   */
  open(datagram: Uint8Array, allowSeen = false): Uint8Array | undefined {
    if (datagram.length < SEALED_HEADER_BYTES + AEAD_TAG_BYTES) return undefined;
    if (!hasPacketId(datagram, this.#key.id)) return undefined;
    const bodyLength = sealedBodyLength(datagram);
    if (datagram.length !== SEALED_HEADER_BYTES + bodyLength + AEAD_TAG_BYTES) return undefined;
    const pn = sealedPacketNumber(datagram);
    if (pn < 0) return undefined;
    const verdict = this.#window.check(pn);
    if (verdict === "old" || (verdict === "seen" && !allowSeen)) return undefined;
    writeSealedAad(datagram, 0, this.#aad);
    const sealed = datagram.subarray(SEALED_HEADER_BYTES);
    if (!this.#aead.openNumbered(this.#key.key, this.#key.iv, this.#aad, sealed, sealed)) {
      return undefined;
    }
    if (verdict === "new") this.#window.accept(pn);
    this.#lastPacketNumber = pn;
    this.#lastSeen = verdict === "seen";
    // The packet: its header moved up against the body (over the number and length).
    const start = SEALED_HEADER_BYTES - HEADER_BYTES;
    datagram.copyWithin(start, 0, HEADER_BYTES);
    return datagram.subarray(start, SEALED_HEADER_BYTES + bodyLength);
  }
}

/** The two halves one end of a transfer or chat uses. */
export interface PeerProtection {
  /** Seals what this end sends. */
  sealer: PacketSealer;
  /** Opens what the partner sends. */
  opener: PacketOpener;
}

/**
 * This end's sealer and opener for a transfer or chat between `me` and `peer`.
 *
 * @param aead the endpoint's AEAD.
 * @param options the secret, the id, the purpose, both names and the replay window.
 * @returns the sealer (`me` → `peer`) and the opener (`peer` → `me`).
 * @throws {RangeError} when the secret is not {@linkcode PEER_SECRET_BYTES} bytes.
 */
export function peerProtection(aead: Aead, options: {
  secret: Uint8Array;
  id: Uint8Array;
  purpose: KeyPurpose;
  me: string;
  peer: string;
  windowSize: number;
}): PeerProtection {
  const { secret, id, purpose, me, peer } = options;
  return {
    sealer: new PacketSealer(aead, deriveDirectionKey(secret, id, purpose, { from: me, to: peer })),
    opener: new PacketOpener(
      aead,
      deriveDirectionKey(secret, id, purpose, { from: peer, to: me }),
      options.windowSize,
    ),
  };
}
