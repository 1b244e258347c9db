/**
 * The {@linkcode PrivateChatBook} of a network (SPEC §9): `private_requests` and
 * `private_chats`, shared by the nodes, so that a request made through one node is
 * answered through another, and a chat between devices on two nodes is ended by either.
 * Each operation is one statement.
 *
 * @module
 */

import type { Sql } from "postgres";
import { newChatId } from "../../../p2p/chat_keys.ts";
import type { PrivateChatBook } from "../../private_chats.ts";

/** The private chats in the database behind `sql`. */
export function postgresPrivateChats(sql: Sql): PrivateChatBook {
  return {
    async request(from: string, to: string, expiresAt: number): Promise<void> {
      await sql`
        INSERT INTO private_requests (requester, target, expires_at)
        VALUES (${from}, ${to}, ${expiresAt})
        ON CONFLICT (requester, target) DO UPDATE SET expires_at = excluded.expires_at`;
    },

    async takeRequest(from: string, to: string, now: number): Promise<boolean> {
      const rows = await sql<{ open: boolean }[]>`
        DELETE FROM private_requests WHERE requester = ${from} AND target = ${to}
        RETURNING expires_at > ${now} AS open`;
      return rows[0]?.open ?? false;
    },

    async cancelRequests(a: string, b: string, now: number) {
      const rows = await sql<{ requester: string; target: string }[]>`
        WITH gone AS (
          DELETE FROM private_requests
          WHERE (requester = ${a} AND target = ${b}) OR (requester = ${b} AND target = ${a})
          RETURNING requester, target, expires_at)
        SELECT requester, target FROM gone WHERE expires_at > ${now}
        ORDER BY requester = ${a} DESC`;
      return rows.map((r) => ({ from: r.requester, to: r.target }));
    },

    async start(a: string, b: string): Promise<string> {
      const [first, second] = pair(a, b);
      const id = newChatId();
      await sql`
        INSERT INTO private_chats (a, b, chat_id) VALUES (${first}, ${second}, ${id})
        ON CONFLICT (a, b) DO UPDATE SET chat_id = excluded.chat_id`;
      return id;
    },

    async chatId(a: string, b: string): Promise<string | undefined> {
      const [first, second] = pair(a, b);
      const [row] = await sql<{ chat_id: string }[]>`
        SELECT chat_id FROM private_chats WHERE a = ${first} AND b = ${second}`;
      return row?.chat_id;
    },

    async end(a: string, b: string): Promise<boolean> {
      const [first, second] = pair(a, b);
      const result = await sql`DELETE FROM private_chats WHERE a = ${first} AND b = ${second}`;
      return result.count > 0;
    },

    async leave(device: string): Promise<string[]> {
      const [, rows] = await Promise.all([
        sql`DELETE FROM private_requests WHERE requester = ${device} OR target = ${device}`,
        sql<{ partner: string }[]>`
          DELETE FROM private_chats WHERE a = ${device} OR b = ${device}
          RETURNING CASE WHEN a = ${device} THEN b ELSE a END AS partner`,
      ]);
      return rows.map((r) => r.partner);
    },
  };
}

/** The two names of a pair in the order the table keeps them (the smaller first). */
function pair(a: string, b: string): [string, string] {
  return a < b ? [a, b] : [b, a];
}
