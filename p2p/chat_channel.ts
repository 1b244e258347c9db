/**
 * Private-chat messages over the peer channel. The server introduces a chat to both ends
 * with its id, the partner's name and address, and a secret (see `chat_keys.ts`). Each
 * message is one CHAT datagram sealed under the direction's key and its next packet
 * number (`packet_protection.ts`), which is the message's number. It is resent, the
 * identical datagram, every `chatRetryMs` until the partner's CHAT_ACK (sealed the other
 * way, under a number of its own) comes, at most `chatTries` times. A receiver takes a
 * CHAT only from the partner's introduced address, when it opens under the partner's key
 * and its number is not below the replay window: an edited, forged, reflected or
 * replayed datagram is dropped (a genuine retransmission whose ack was lost is
 * acknowledged again but not delivered twice). The endpoint owns the socket and routes
 * CHAT and CHAT_ACK datagrams here.
 *
 * @module
 */

import { type Clock, type Deferred, deferred, type TimerId } from "../internal/mod.ts";
import type { Aead } from "./aead.ts";
import { PeerUnreachableError, TransferAbortedError } from "./errors.ts";
import type { ChatEvent } from "./events.ts";
import { CHAT_REPLAY_WINDOW, MAX_CHAT_TEXT_BYTES, type P2pLimits } from "./limits.ts";
import {
  decodePacket,
  encodePacket,
  hexToId,
  MalformedPacketError,
  type Packet,
} from "./packet.ts";
import { type PeerProtection, peerProtection } from "./packet_protection.ts";
import { addrKey, type PeerAddr } from "./udp_socket.ts";

/** What the chat channel needs from its endpoint. */
export interface ChatChannelHost {
  readonly clock: Clock;
  readonly limits: Readonly<P2pLimits>;
  /** The endpoint's AEAD. */
  readonly aead: Aead;
  /** Sends one datagram. */
  send(bytes: Uint8Array, to: PeerAddr): void;
  /** A datagram was not acceptable; `unauthentic` when it did not open. */
  drop(unauthentic?: boolean): void;
  /** A new message arrived. */
  deliver(event: ChatEvent): void;
}

/** A private chat as the server introduced it to this device (its `peer` push). */
export interface ChatIntroduction {
  /** The chat id: 16 bytes as 32 hex digits. */
  chatId: string;
  /** The partner's name. */
  peer: string;
  /** The partner's address, as the server knows it: the only source accepted. */
  addr: PeerAddr;
  /** The chat's secret from the server. */
  secret: Uint8Array;
}

/** One open chat. */
interface Chat {
  id: string;
  idBytes: Uint8Array;
  peer: string;
  addr: PeerAddr;
  addrKey: string;
  /** Seals what this end sends; opens what the partner sends (its numbers seen). */
  protection: PeerProtection;
}

interface PendingChat {
  chat: Chat;
  bytes: Uint8Array;
  tries: number;
  timer: TimerId | undefined;
  done: Deferred<void>;
}

/** Sending and receiving private-chat messages. */
export class ChatChannel {
  readonly #host: ChatChannelHost;
  /** Open chats by id (hex). */
  readonly #chats = new Map<string, Chat>();
  /** Messages awaiting their ack, by `<chat id>/<number>`. */
  readonly #pending = new Map<string, PendingChat>();

  constructor(host: ChatChannelHost) {
    this.#host = host;
  }

  /**
   * Opens a chat the server introduced (replacing one of the same id).
   *
   * @param introduction the chat's id, partner, address and secret.
   * @param me this device's name.
   * @throws {SyntaxError} when the chat id is not 32 hex digits.
   * @throws {RangeError} when the secret has the wrong length.
   */
  open(introduction: ChatIntroduction, me: string): void {
    const idBytes = hexToId(introduction.chatId);
    const chat: Chat = {
      id: introduction.chatId.toLowerCase(),
      idBytes,
      peer: introduction.peer,
      addr: { hostname: introduction.addr.hostname, port: introduction.addr.port },
      addrKey: addrKey(introduction.addr),
      protection: peerProtection(this.#host.aead, {
        secret: introduction.secret,
        id: idBytes,
        purpose: "iotnet-chat-v4",
        me,
        peer: introduction.peer,
        windowSize: CHAT_REPLAY_WINDOW,
      }),
    };
    this.closeChat(chat.id);
    this.#chats.set(chat.id, chat);
  }

  /** Closes a chat: its datagrams are dropped from now on and its sends fail. */
  closeChat(chatId: string): void {
    const chat = this.#chats.get(chatId.toLowerCase());
    if (!chat) return;
    this.#chats.delete(chat.id);
    for (const [key, pending] of this.#pending) {
      if (pending.chat !== chat) continue;
      this.#pending.delete(key);
      this.#settle(pending);
      pending.done.reject(
        new TransferAbortedError("cancelled", `the private chat with ${chat.peer} ended`),
      );
    }
  }

  /** Closes every chat with device `peer`. */
  closePeer(peer: string): void {
    for (const chat of [...this.#chats.values()]) if (chat.peer === peer) this.closeChat(chat.id);
  }

  /**
   * Sends one message and waits for the partner's acknowledgement.
   *
   * @throws {RangeError} when the text is over {@linkcode MAX_CHAT_TEXT_BYTES}.
   * @throws {TransferAbortedError} when the chat is not open or ends meanwhile.
   * @throws {PeerUnreachableError} when no acknowledgement came.
   */
  send(chatId: string, text: string): Promise<void> {
    const body = new TextEncoder().encode(text);
    if (body.length > MAX_CHAT_TEXT_BYTES) {
      return Promise.reject(
        new RangeError(`chat text is ${body.length} bytes; the limit is ${MAX_CHAT_TEXT_BYTES}`),
      );
    }
    const chat = this.#chats.get(chatId.toLowerCase());
    if (!chat) {
      return Promise.reject(
        new TransferAbortedError("cancelled", `there is no open private chat ${chatId}`),
      );
    }
    const { clock, limits } = this.#host;
    const sealer = chat.protection.sealer;
    const number = sealer.nextPacketNumber;
    const key = `${chat.id}/${number}`;
    const pending: PendingChat = {
      chat,
      bytes: sealer.seal(encodePacket({ type: "chat", id: chat.idBytes, text: body })),
      tries: 0,
      timer: undefined,
      done: deferred<void>(),
    };
    this.#pending.set(key, pending);
    const attempt = () => {
      pending.timer = undefined;
      if (pending.tries >= limits.chatTries) {
        this.#pending.delete(key);
        pending.done.reject(
          new PeerUnreachableError(
            `no answer to a chat message after ${pending.tries} tries; the peer may be offline`,
          ),
        );
        return;
      }
      pending.tries++;
      this.#host.send(pending.bytes, chat.addr);
      pending.timer = clock.setTimeout(attempt, limits.chatRetryMs);
    };
    attempt();
    return pending.done.promise;
  }

  /**
   * Handles a sealed CHAT or CHAT_ACK datagram. A CHAT from the partner's address that
   * opens under its key and is new is acknowledged and delivered; a repeat (our ack was
   * lost) is only acknowledged again. An authentic CHAT_ACK settles the message.
   *
   * @param bytes the datagram exactly (opened in place).
   * @param id the chat id (hex).
   * @param fromKey the source address (`addrKey`).
   */
  onDatagram(bytes: Uint8Array, id: string, fromKey: string): void {
    const chat = this.#chats.get(id);
    if (!chat || chat.addrKey !== fromKey) return this.#host.drop();
    const opener = chat.protection.opener;
    const opened = opener.open(bytes, true);
    if (opened === undefined) return this.#host.drop(true);
    let packet: Packet;
    try {
      packet = decodePacket(opened);
    } catch (e) {
      if (!(e instanceof MalformedPacketError)) throw e;
      return this.#host.drop();
    }
    if (packet.type === "chat_ack") {
      if (opener.lastSeen) return this.#host.drop(); // a replayed ack
      const key = `${chat.id}/${packet.number}`;
      const pending = this.#pending.get(key);
      if (!pending) return this.#host.drop(); // a repeated ack
      this.#pending.delete(key);
      this.#settle(pending);
      pending.done.resolve();
      return;
    }
    if (packet.type !== "chat") return this.#host.drop();
    const number = opener.lastPacketNumber;
    if (opener.lastSeen) {
      this.#ack(chat, number); // a retransmission: our ack was lost
      return this.#host.drop();
    }
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(packet.text);
    } catch {
      return this.#host.drop();
    }
    this.#ack(chat, number);
    this.#host.deliver({ from: chat.peer, chatId: chat.id, text });
  }

  /** Fails every message still waiting for its acknowledgement and forgets every chat. */
  close(): void {
    for (const pending of this.#pending.values()) {
      this.#settle(pending);
      pending.done.reject(new TransferAbortedError("closing", "the endpoint was closed"));
    }
    this.#pending.clear();
    this.#chats.clear();
  }

  #ack(chat: Chat, number: number): void {
    const ack = encodePacket({ type: "chat_ack", id: chat.idBytes, number });
    this.#host.send(chat.protection.sealer.seal(ack), chat.addr);
  }

  #settle(pending: PendingChat): void {
    if (pending.timer !== undefined) this.#host.clock.clearTimeout(pending.timer);
    pending.timer = undefined;
  }
}
