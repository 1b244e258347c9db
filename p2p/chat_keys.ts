/**
 * Keys of one private chat. The server makes a random secret per chat and gives it to
 * both ends over their control connections; each end derives one key per direction
 * with HKDF-SHA256 (RFC 5869), so a datagram sent one way never verifies the other way,
 * and every CHAT and CHAT_ACK datagram carries an HMAC-SHA256 tag over all its other
 * bytes under the key of its direction. Synchronous (`node:crypto`), for the datagram
 * path. See `docs/P2P.md` ("Private chat").
 *
 * @module
 */

import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import { chatTagParts, DIGEST_BYTES, ID_BYTES } from "./packet.ts";
import { toHex } from "./ticket.ts";

/** Bytes in a chat secret from the server. */
export const CHAT_SECRET_BYTES = 32;
/** HKDF `info` prefix: names the purpose and version of the derived keys. */
const KEY_LABEL = "iotnet-chat-v2";

/**
 * Draws a chat id when the server introduces a private chat.
 *
 * @returns 16 random bytes as hex, the id field of the chat's datagrams.
 */
export function newChatId(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(ID_BYTES)));
}

/**
 * Draws a chat's secret when the server introduces a private chat.
 *
 * @returns {@linkcode CHAT_SECRET_BYTES} random bytes, base64, as the server hands them
 * to both ends.
 */
export function newChatSecret(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(CHAT_SECRET_BYTES))));
}

/** The two keys one end of a chat uses. */
export interface ChatKeys {
  /** Tags what this end sends (its messages and its acknowledgements). */
  send: Uint8Array;
  /** Checks what the partner sends. */
  receive: Uint8Array;
}

/**
 * The key of the direction `from` → `to`: HKDF-SHA256 with the secret as input keying
 * material, the chat id as salt, and `["iotnet-chat-v2", from, to]` (JSON) as info.
 */
function directionKey(secret: Uint8Array, chatId: Uint8Array, from: string, to: string) {
  const info = JSON.stringify([KEY_LABEL, from, to]);
  return new Uint8Array(hkdfSync("sha256", secret, chatId, info, DIGEST_BYTES));
}

/**
 * Derives this end's keys.
 *
 * @param secret the chat's secret from the server ({@linkcode CHAT_SECRET_BYTES}).
 * @param chatId the chat id (16 bytes, the datagrams' id).
 * @param me this device's name.
 * @param peer the partner's name.
 * @returns the key to send with and the key to check the partner with.
 * @throws {RangeError} when the secret is not {@linkcode CHAT_SECRET_BYTES} bytes.
 * @example
 * ```ts
 * import { deriveChatKeys } from "./chat_keys.ts";
 * const secret = crypto.getRandomValues(new Uint8Array(32));
 * const id = crypto.getRandomValues(new Uint8Array(16));
 * const alice = deriveChatKeys(secret, id, "alice", "bob");
 * const bob = deriveChatKeys(secret, id, "bob", "alice");
 * console.assert(alice.send.join() === bob.receive.join());
 * console.assert(alice.send.join() !== alice.receive.join());
 * ```
 */
export function deriveChatKeys(
  secret: Uint8Array,
  chatId: Uint8Array,
  me: string,
  peer: string,
): ChatKeys {
  if (secret.length !== CHAT_SECRET_BYTES) {
    throw new RangeError(`a chat secret must be ${CHAT_SECRET_BYTES} bytes, got ${secret.length}`);
  }
  return {
    send: directionKey(secret, chatId, me, peer),
    receive: directionKey(secret, chatId, peer, me),
  };
}

/**
 * Fills the tag: the last {@linkcode DIGEST_BYTES} of `datagram` become the HMAC-SHA256
 * of everything before them.
 *
 * @param key the direction's key.
 * @param datagram an encoded CHAT or CHAT_ACK (its tag field is overwritten).
 * @returns `datagram`.
 * @throws {RangeError} when `datagram` is shorter than a tag.
 */
export function sealChatDatagram(key: Uint8Array, datagram: Uint8Array): Uint8Array {
  const parts = chatTagParts(datagram);
  if (!parts) throw new RangeError("a chat datagram must be longer than its tag");
  parts.tag.set(createHmac("sha256", key).update(parts.covered).digest());
  return datagram;
}

/**
 * Whether the tag at the end of `datagram` is the HMAC-SHA256 of the rest (constant time).
 *
 * @param key the direction's key.
 * @param datagram a CHAT or CHAT_ACK as received.
 */
export function chatDatagramVerifies(key: Uint8Array, datagram: Uint8Array): boolean {
  const parts = chatTagParts(datagram);
  if (!parts) return false;
  const expected = createHmac("sha256", key).update(parts.covered).digest();
  return timingSafeEqual(expected, parts.tag);
}
