/**
 * The `inbox` table: pushes for devices connected to one node, written by the other nodes
 * (SPEC §9). A row is durable before its sender is answered; the NOTIFY on the owner's
 * channel (`inboxChannel`) only wakes the owner, which takes every row of its
 * own (`DELETE … RETURNING`, in id order) on each wake and each time it (re)listens, so a
 * notification lost with a connection loses nothing. A row is only written for a node
 * whose term has not been swept (its `nodes` row is read `FOR SHARE`): a sweep that
 * follows moves the row, so no row is left for a node nobody will sweep again.
 *
 * Kinds: `push` (a frame for one device, dropped if it has gone), `message` (a direct
 * message: its frame, and its fields to store it as an offline message if the device has
 * gone), `broadcast` (a frame for every device of the node but the sender and those that
 * block it), `mailbox` (the device should read its stored messages again).
 *
 * @module
 */

import type { Sql } from "postgres";
import type { NewMessage } from "../interfaces.ts";
import type { Transact } from "./transactions.ts";
import { INBOX_CHANNEL_PREFIX, type NodeTerm } from "./node_rows.ts";

/** A row as its owner takes it. */
export type InboxRow =
  | { kind: "push"; recipient: string; frame: Uint8Array }
  | { kind: "message"; recipient: string; frame: Uint8Array; message: NewMessage }
  | { kind: "broadcast"; sender: string; frame: Uint8Array }
  | { kind: "mailbox"; recipient: string };

/** Where a row for one device goes: the node and term it is logged in through. */
export type InboxAddress = Pick<NodeTerm, "node" | "epoch">;

/**
 * Puts a `push` or `message` row for `recipient` into the inbox of `to`, and wakes it.
 *
 * @returns false when `to`'s term has ended (nothing was written).
 */
export async function sendToDevice(
  sql: Sql,
  to: InboxAddress,
  row: Extract<InboxRow, { kind: "push" | "message" }>,
): Promise<boolean> {
  const message = row.kind === "message" ? row.message : undefined;
  const sent = await sql`
    WITH n AS (
      SELECT lock_key FROM nodes
      WHERE node = ${to.node} AND epoch = ${to.epoch} AND lease_until IS NOT NULL
      FOR SHARE),
    ins AS (
      INSERT INTO inbox (node, epoch, kind, recipient, frame, sender, text, sent_at)
      SELECT ${to.node}, ${to.epoch}, ${row.kind}, ${row.recipient}, ${row.frame},
             ${message?.sender ?? null}::text, ${message?.text ?? null}::text,
             ${message?.sentAt ?? null}::int8
      FROM n RETURNING id)
    SELECT pg_notify(${INBOX_CHANNEL_PREFIX}::text || n.lock_key, '') FROM n, ins`;
  return sent.length > 0;
}

/** Puts a `broadcast` row into the inbox of every serving node but `self`, and wakes them. */
export async function sendToOtherNodes(
  sql: Sql,
  self: string,
  row: Extract<InboxRow, { kind: "broadcast" }>,
): Promise<void> {
  await sql`
    WITH n AS (
      SELECT node, epoch, lock_key FROM nodes
      WHERE node <> ${self} AND lease_until IS NOT NULL
      FOR SHARE),
    ins AS (
      INSERT INTO inbox (node, epoch, kind, frame, sender)
      SELECT node, epoch, 'broadcast', ${row.frame}, ${row.sender} FROM n
      RETURNING node)
    SELECT pg_notify(${INBOX_CHANNEL_PREFIX}::text || n.lock_key, '') FROM n WHERE n.node IN (SELECT node FROM ins)`;
}

/**
 * Tells the nodes through which `names` are logged in (if any is) to have them read their
 * stored messages again: sent after messages for them were stored.
 */
export async function wakeMailboxes(sql: Sql, names: string[]): Promise<void> {
  await sql`
    WITH d AS (
      SELECT a.name, a.node, a.epoch, n.lock_key
      FROM active_devices a JOIN nodes n ON n.node = a.node AND n.epoch = a.epoch
      WHERE a.name = ANY(${sql.array(names)}::text[]) AND n.lease_until IS NOT NULL
      FOR SHARE OF n),
    ins AS (
      INSERT INTO inbox (node, epoch, kind, recipient)
      SELECT node, epoch, 'mailbox', name FROM d
      RETURNING node)
    SELECT pg_notify(${INBOX_CHANNEL_PREFIX}::text || d.lock_key, '') FROM d WHERE d.node IN (SELECT node FROM ins)`;
}

/** What {@linkcode takeInbox} took. */
export interface TakenInbox {
  /** The rows to deliver here, oldest first. */
  rows: InboxRow[];
  /** Recipients of direct messages that were stored as offline messages instead. */
  stored: string[];
}

/**
 * Takes every row of `node`'s inbox, oldest first. In the same transaction, the direct
 * messages for devices that `isHere` says have gone become offline messages (kept whatever
 * the mailbox limits: each was accepted as delivered), and `push` rows for them are
 * dropped: a message taken is never lost to a failure between taking and storing it.
 */
export async function takeInbox(
  transact: Transact,
  node: string,
  isHere: (device: string) => boolean,
): Promise<TakenInbox> {
  return await transact(async (tx) => {
    const taken = await tx<
      {
        id: string;
        kind: InboxRow["kind"];
        recipient: string | null;
        frame: Uint8Array | null;
        sender: string | null;
        text: string | null;
        sent_at: string | null;
      }[]
    >`DELETE FROM inbox WHERE node = ${node}
      RETURNING id, kind, recipient, frame, sender, text, sent_at`;
    taken.sort((a, b) => Number(a.id) - Number(b.id));
    const rows: InboxRow[] = [];
    const gone: NewMessage[] = [];
    for (const r of taken) {
      switch (r.kind) {
        case "push":
          if (isHere(r.recipient!)) {
            rows.push({ kind: r.kind, recipient: r.recipient!, frame: r.frame! });
          }
          break;
        case "message": {
          const message = {
            recipient: r.recipient!,
            sender: r.sender!,
            text: r.text!,
            sentAt: Number(r.sent_at),
          };
          if (isHere(r.recipient!)) {
            rows.push({ kind: r.kind, recipient: r.recipient!, frame: r.frame!, message });
          } else gone.push(message);
          break;
        }
        case "broadcast":
          rows.push({ kind: r.kind, sender: r.sender!, frame: r.frame! });
          break;
        case "mailbox":
          rows.push({ kind: r.kind, recipient: r.recipient! });
          break;
      }
    }
    if (gone.length > 0) {
      await tx`
        INSERT INTO messages (recipient, sender, text, sent_at)
        SELECT * FROM unnest(${tx.array(gone.map((m) => m.recipient))}::text[],
                             ${tx.array(gone.map((m) => m.sender))}::text[],
                             ${tx.array(gone.map((m) => m.text))}::text[],
                             ${tx.array(gone.map((m) => String(m.sentAt)))}::int8[])`;
    }
    return { rows, stored: [...new Set(gone.map((m) => m.recipient))] };
  });
}
