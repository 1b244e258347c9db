/**
 * Private-chat messages over the peer channel: each one is a single CHAT datagram under
 * a server-signed chat ticket, resent every `chatRetryMs` until the peer's CHAT_ACK (at
 * most `chatTries` times), and delivered to the receiver once (retransmissions whose ack
 * was lost are acknowledged again but not delivered twice). The endpoint owns the socket
 * and routes CHAT and CHAT_ACK datagrams here.
 *
 * @module
 */

import type { Clock, TimerId } from "../internal/clock.ts";
import { type Deferred, deferred } from "../internal/deferred.ts";
import { PeerUnreachableError, TransferAbortedError } from "./errors.ts";
import type { ChatEvent } from "./events.ts";
import { MAX_CHAT_TEXT_BYTES, type P2pLimits } from "./limits.ts";
import { type ChatPacket, encodePacket, idToHex } from "./packet.ts";
import { type ChatTicket, encodeTicket, fromHex, type SignedTicket } from "./ticket.ts";
import type { TicketGuard } from "./ticket_guard.ts";
import { addrKey, type PeerAddr } from "./udp_socket.ts";

/** Chat ids remembered to drop duplicates. */
const MAX_SEEN_CHATS = 4096;

/** What the chat channel needs from its endpoint. */
export interface ChatChannelHost {
  readonly clock: Clock;
  readonly limits: Readonly<P2pLimits>;
  readonly guard: TicketGuard;
  /** Sends one datagram. */
  send(bytes: Uint8Array, to: PeerAddr): void;
  /** A datagram was not acceptable; `rejected` when its ticket failed the check. */
  drop(rejected?: boolean): void;
  /** A new message arrived. */
  deliver(event: ChatEvent): void;
}

interface PendingChat {
  bytes: Uint8Array;
  toKey: string;
  tries: number;
  timer: TimerId | undefined;
  done: Deferred<void>;
}

/** Sending and receiving private-chat messages. */
export class ChatChannel {
  readonly #host: ChatChannelHost;
  readonly #pending = new Map<string, PendingChat>();
  readonly #seen = new Map<string, number>();

  constructor(host: ChatChannelHost) {
    this.#host = host;
  }

  /**
   * Sends one message and waits for the peer's acknowledgement.
   *
   * @throws {RangeError} when the text is over {@linkcode MAX_CHAT_TEXT_BYTES}.
   * @throws {TypeError} when the ticket is not a chat ticket.
   * @throws {PeerUnreachableError} when no acknowledgement came.
   */
  send(to: PeerAddr, ticket: SignedTicket<ChatTicket>, text: string): Promise<void> {
    const body = new TextEncoder().encode(text);
    if (body.length > MAX_CHAT_TEXT_BYTES) {
      return Promise.reject(
        new RangeError(`chat text is ${body.length} bytes; the limit is ${MAX_CHAT_TEXT_BYTES}`),
      );
    }
    if (ticket.ticket.kind !== "chat") {
      return Promise.reject(new TypeError("sendChat needs a chat ticket"));
    }
    const { clock, limits } = this.#host;
    const id = crypto.getRandomValues(new Uint8Array(16));
    const key = idToHex(id);
    const c: PendingChat = {
      bytes: encodePacket({
        type: "chat",
        id,
        ticket: encodeTicket(ticket.ticket),
        mac: fromHex(ticket.mac),
        text: body,
      }),
      toKey: addrKey(to),
      tries: 0,
      timer: undefined,
      done: deferred<void>(),
    };
    this.#pending.set(key, c);
    const attempt = () => {
      c.timer = undefined;
      if (c.tries >= limits.chatTries) {
        this.#pending.delete(key);
        c.done.reject(
          new PeerUnreachableError(
            `no answer to a chat message after ${c.tries} tries; the peer may be offline`,
          ),
        );
        return;
      }
      c.tries++;
      this.#host.send(c.bytes, to);
      c.timer = clock.setTimeout(attempt, limits.chatRetryMs);
    };
    attempt();
    return c.done.promise;
  }

  /** Handles a CHAT datagram: admit under this device's key, acknowledge, deliver once. */
  onChat(p: ChatPacket, id: string, from: PeerAddr, now: number): void {
    const admission = this.#host.guard.admitChat(p.ticket, p.mac, now);
    if (!admission.ok) return this.#host.drop(true);
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(p.text);
    } catch {
      return this.#host.drop();
    }
    if (p.text.length > MAX_CHAT_TEXT_BYTES) return this.#host.drop();
    this.#host.send(encodePacket({ type: "chat_ack", id: p.id }), from);
    if (this.#seen.has(id)) return; // a retransmission whose ack was lost
    this.#seen.set(id, now);
    if (this.#seen.size > MAX_SEEN_CHATS) this.#seen.delete(this.#seen.keys().next().value!);
    const { ticket } = admission;
    this.#host.deliver({ from: ticket.from, chatId: ticket.chatId, text });
  }

  /** Handles a CHAT_ACK datagram from `fromKey`. */
  onAck(id: string, fromKey: string): void {
    const c = this.#pending.get(id);
    if (!c || c.toKey !== fromKey) return this.#host.drop();
    this.#pending.delete(id);
    if (c.timer !== undefined) this.#host.clock.clearTimeout(c.timer);
    c.done.resolve();
  }

  /** Fails every message still waiting for its acknowledgement. */
  close(): void {
    for (const c of this.#pending.values()) {
      if (c.timer !== undefined) this.#host.clock.clearTimeout(c.timer);
      c.done.reject(new TransferAbortedError("closing", "the endpoint was closed"));
    }
    this.#pending.clear();
  }
}
