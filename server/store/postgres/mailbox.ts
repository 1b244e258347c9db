/**
 * {@linkcode Mailbox} over PostgreSQL: the `messages` table. The limits are checked in the
 * same transaction as the insert, under a transaction-level advisory lock on the
 * recipient, so two nodes storing messages for one recipient at once cannot both take its
 * last place (READ COMMITTED alone would let them).
 *
 * @module
 */

import type { Sql } from "postgres";
import type { Transact } from "./transactions.ts";
import type {
  Mailbox,
  MailboxLimits,
  NewMessage,
  StoredMessage,
  StoreMessageResult,
} from "../interfaces.ts";

/** What a recipient has waiting, in all and from one sender (int8 as text). */
interface Queued {
  n: string;
  bytes: string;
  mine: string;
  my_bytes: string;
}

/** Offline messages in the database behind `sql` (each added in one `transact`). */
export function postgresMailbox(sql: Sql, transact: Transact): Mailbox {
  return {
    add(message: NewMessage, limits: MailboxLimits): Promise<StoreMessageResult> {
      const bytes = new TextEncoder().encode(message.text).length;
      return transact(async (tx): Promise<StoreMessageResult> => {
        await tx`SELECT pg_advisory_xact_lock(hashtextextended(${
          "mailbox:" + message.recipient
        }, 0))`;
        const [queued] = await tx<Queued[]>`
          SELECT count(*) AS n,
                 coalesce(sum(octet_length(text)), 0) AS bytes,
                 count(*) FILTER (WHERE sender = ${message.sender}) AS mine,
                 coalesce(sum(octet_length(text)) FILTER (WHERE sender = ${message.sender}), 0)
                   AS my_bytes
            FROM messages WHERE recipient = ${message.recipient}`;
        if (
          Number(queued!.mine) >= limits.maxCountPerSender ||
          Number(queued!.my_bytes) + bytes > limits.maxBytesPerSender
        ) return { full: "sender" };
        if (
          Number(queued!.n) >= limits.maxCount || Number(queued!.bytes) + bytes > limits.maxBytes
        ) return { full: "mailbox" };
        const [row] = await tx<{ id: string }[]>`
          INSERT INTO messages (recipient, sender, text, sent_at)
          VALUES (${message.recipient}, ${message.sender}, ${message.text}, ${message.sentAt})
          RETURNING id`;
        return { id: Number(row!.id) };
      });
    },

    async waiting(): Promise<number> {
      const [row] = await sql<{ n: string }[]>`SELECT count(*) AS n FROM messages`;
      return Number(row!.n);
    },

    async pending(recipient: string): Promise<StoredMessage[]> {
      const rows = await sql<{ id: string; sender: string; text: string; sent_at: string }[]>`
        SELECT id, sender, text, sent_at FROM messages WHERE recipient = ${recipient} ORDER BY id`;
      return rows.map((r) => ({
        id: Number(r.id),
        sender: r.sender,
        text: r.text,
        sentAt: Number(r.sent_at),
      }));
    },

    async remove(recipient: string, id: number): Promise<boolean> {
      const result = await sql`DELETE FROM messages
                               WHERE id = ${id} AND recipient = ${recipient}`;
      return result.count > 0;
    },
  };
}
