/**
 * Private-chat bookkeeping on the server: requests waiting for an answer and chats in
 * progress. The chat text itself never passes through the server; it only introduces
 * the two devices with tickets (see `server/commands/private_chat.ts`). A server alone
 * keeps them in memory ({@linkcode PrivateChats}); the nodes of a network share them in
 * the database (`server/store/postgres/private_chat_rows.ts`), so a request made through
 * one node is answered through another.
 *
 * @module
 */

import { newChatId } from "../p2p/chat_keys.ts";
import { encodeMessage } from "../protocol/codec.ts";
import type { DeviceRegistry } from "./device_registry.ts";

/**
 * Requests and chats between devices. Over the in-memory book nothing is a promise; over
 * the database every answer is.
 */
export interface PrivateChatBook {
  /** Records that `from` asked `to`, open until `expiresAt` (ms epoch). */
  request(from: string, to: string, expiresAt: number): void | Promise<void>;
  /** Takes `from`'s request to `to`; whether it was still open at `now`. */
  takeRequest(from: string, to: string, now: number): boolean | Promise<boolean>;
  /** Withdraws the requests between `a` and `b`, both ways; those still open at `now`. */
  cancelRequests(
    a: string,
    b: string,
    now: number,
  ): { from: string; to: string }[] | Promise<{ from: string; to: string }[]>;
  /** Starts a chat between `a` and `b`; its id. */
  start(a: string, b: string): string | Promise<string>;
  /** The id of the chat between `a` and `b`, if any. */
  chatId(a: string, b: string): string | undefined | Promise<string | undefined>;
  /** Ends the chat between `a` and `b`; whether there was one. */
  end(a: string, b: string): boolean | Promise<boolean>;
  /** Ends every chat and request of `device`; the partners of its chats. */
  leave(device: string): string[] | Promise<string[]>;
}

/** Requests and chats in memory, by unordered device pair. */
export class PrivateChats implements PrivateChatBook {
  /** "requester|target" → when the request expires (ms epoch). */
  readonly #requests = new Map<string, number>();
  /** "a|b" with a < b → chat id. */
  readonly #chats = new Map<string, string>();

  /** Records that `from` asked `to`. */
  request(from: string, to: string, expiresAt: number): void {
    this.#requests.set(`${from}|${to}`, expiresAt);
  }

  /** Takes `from`'s request to `to` if it is still open at `now`. */
  takeRequest(from: string, to: string, now: number): boolean {
    const key = `${from}|${to}`;
    const expiresAt = this.#requests.get(key);
    this.#requests.delete(key);
    return expiresAt !== undefined && expiresAt > now;
  }

  /**
   * Withdraws the requests between `a` and `b`, both ways (a block ends them).
   *
   * @returns the requests that were still open at `now`.
   */
  cancelRequests(a: string, b: string, now: number): { from: string; to: string }[] {
    const open: { from: string; to: string }[] = [];
    for (const [from, to] of [[a, b], [b, a]] as const) {
      if (this.takeRequest(from, to, now)) open.push({ from, to });
    }
    return open;
  }

  /** Starts a chat between `a` and `b`; returns its id (16 random bytes, hex). */
  start(a: string, b: string): string {
    const id = newChatId();
    this.#chats.set(pairKey(a, b), id);
    return id;
  }

  /** The id of the chat between `a` and `b`, if any. */
  chatId(a: string, b: string): string | undefined {
    return this.#chats.get(pairKey(a, b));
  }

  /** Ends the chat between `a` and `b`; returns whether there was one. */
  end(a: string, b: string): boolean {
    return this.#chats.delete(pairKey(a, b));
  }

  /** Ends every chat and request of `device`; returns the partners of its chats. */
  leave(device: string): string[] {
    const partners: string[] = [];
    for (const key of [...this.#chats.keys()]) {
      const [a, b] = key.split("|") as [string, string];
      if (a === device || b === device) {
        this.#chats.delete(key);
        partners.push(a === device ? b : a);
      }
    }
    for (const key of [...this.#requests.keys()]) {
      const [a, b] = key.split("|");
      if (a === device || b === device) this.#requests.delete(key);
    }
    return partners;
  }
}

/**
 * Ends the chats and requests of `device`, which has left: each chat partner still active
 * is told its chat `ended` (`left`).
 */
export async function endPrivateChats(
  chats: PrivateChatBook,
  active: Pick<DeviceRegistry, "get">,
  device: string,
): Promise<void> {
  for (const partner of await chats.leave(device)) {
    active.get(partner)?.deliver(
      encodeMessage({ t: "push", event: "private", device, state: "ended", reason: "left" }),
    );
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
