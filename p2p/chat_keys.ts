/**
 * What the server draws for a private chat: its id and its secret, which it gives to
 * both ends over their control connections and forgets. Each end derives one key per
 * direction from the secret (`packet_protection.ts`, purpose `iotnet-chat-v4`) and seals
 * every CHAT and CHAT_ACK under it. See `docs/P2P.md` ("Private chat").
 *
 * @module
 */

import { ID_BYTES } from "./packet.ts";
import { PEER_SECRET_BYTES } from "./packet_protection.ts";
import { toBase64, toHex } from "./ticket.ts";

/** Bytes in a chat secret from the server. */
export const CHAT_SECRET_BYTES = PEER_SECRET_BYTES;

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
  return toBase64(crypto.getRandomValues(new Uint8Array(CHAT_SECRET_BYTES)));
}
