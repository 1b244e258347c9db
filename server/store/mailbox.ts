/**
 * {@linkcode Mailbox} over SQLite: the `messages` table. The limits are checked in the
 * same transaction as the insert, so two messages at once cannot both take the last place.
 *
 * @module
 */

import type { Database } from "./database.ts";
import type { GroupCommit } from "./group_commit.ts";
import type {
  Mailbox,
  MailboxLimits,
  NewMessage,
  StoredMessage,
  StoreMessageResult,
} from "./interfaces.ts";

/** What a recipient has waiting, in all and from one sender. */
interface Queued {
  n: number;
  bytes: number;
  mine: number;
  my_bytes: number;
}

/** Offline messages in one SQLite database (`db`), written through its group commit (`commits`). */
export function sqliteMailbox(db: Database, commits: GroupCommit): Mailbox {
  return {
    add(message: NewMessage, limits: MailboxLimits): Promise<StoreMessageResult> {
      const bytes = new TextEncoder().encode(message.text).length;
      return commits.run((): StoreMessageResult => {
        const queued = db.get<Queued>(
          `SELECT count(*) AS n,
                  coalesce(sum(length(CAST(text AS BLOB))), 0) AS bytes,
                  count(*) FILTER (WHERE sender = ?1) AS mine,
                  coalesce(sum(length(CAST(text AS BLOB))) FILTER (WHERE sender = ?1), 0) AS my_bytes
             FROM messages WHERE recipient = ?2`,
          message.sender,
          message.recipient,
        )!;
        if (
          queued.mine >= limits.maxCountPerSender ||
          queued.my_bytes + bytes > limits.maxBytesPerSender
        ) return { full: "sender" };
        if (queued.n >= limits.maxCount || queued.bytes + bytes > limits.maxBytes) {
          return { full: "mailbox" };
        }
        const id = db.insert(
          "INSERT INTO messages (recipient, sender, text, sent_at) VALUES (?, ?, ?, ?)",
          message.recipient,
          message.sender,
          message.text,
          message.sentAt,
        );
        return { id };
      });
    },

    // Kept by the triggers of `store_totals` (migrations.ts).
    waiting(): Promise<number> {
      return Promise.try(() =>
        db.get<{ messages: number }>("SELECT messages FROM store_totals")!.messages
      );
    },

    pending(recipient: string): Promise<StoredMessage[]> {
      return Promise.try(() =>
        db.all<{ id: number; sender: string; text: string; sent_at: number }>(
          "SELECT id, sender, text, sent_at FROM messages WHERE recipient = ? ORDER BY id",
          recipient,
        ).map((r) => ({ id: r.id, sender: r.sender, text: r.text, sentAt: r.sent_at }))
      );
    },

    remove(recipient: string, id: number): Promise<boolean> {
      return commits.run(() =>
        db.run("DELETE FROM messages WHERE id = ? AND recipient = ?", id, recipient) > 0
      );
    },
  };
}
