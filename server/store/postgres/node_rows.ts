/**
 * The `nodes` table: which servers of the network serve, since which start (`epoch`) and
 * until when (`lease_until`, on the database's clock). A node holds a session advisory
 * lock on a connection of its own for as long as it runs, so a node whose process died is
 * seen at once (its connection closed, the lock is free); a node that is frozen or cut
 * off is seen when its lease passes. Such a node is swept: its devices leave the registry
 * (announced offline on {@linkcode PRESENCE_CHANNEL}) and the direct messages waiting in
 * its inbox become offline messages (docs/DECISIONS.md, "One network on PostgreSQL").
 *
 * @module
 */

import type { Sql } from "postgres";
import type { Transact } from "./transactions.ts";
import { encodePresenceNotice, PRESENCE_CHANNEL } from "../../cluster/presence_notice.ts";

/**
 * First key of every node's advisory lock (`pg_advisory_lock(NODE_LOCK_CLASS, lock_key)`);
 * "iot" in ASCII. The migration lock uses the one-key form, so they cannot meet.
 */
export const NODE_LOCK_CLASS = 0x696f74;

/** One start of a node: its id, its lock key (also its inbox channel) and its epoch. */
export interface NodeTerm {
  node: string;
  lockKey: number;
  epoch: number;
}

/** A device a sweep took out of the registry. */
export interface SweptDevice {
  name: string;
  node: string;
  /** Whether it was active (it was announced offline), not only claimed. */
  wasActive: boolean;
}

/** What a sweep did. */
export interface Sweep {
  /** The terms that ended (node and epoch). */
  terms: { node: string; epoch: number }[];
  devices: SweptDevice[];
  /** Recipients of the direct messages moved from the swept inboxes to their mailboxes. */
  stored: string[];
}

/** What a node's inbox channel is called before its lock key. */
export const INBOX_CHANNEL_PREFIX = "iotnet_node_";

/**
 * The NOTIFY channel of a node's inbox: named by its lock key, as a node id may be longer
 * than a channel name may be (63 bytes).
 */
export function inboxChannel(lockKey: number): string {
  return `${INBOX_CHANNEL_PREFIX}${lockKey}`;
}

/**
 * Starts a term of `node`: takes its advisory lock on `lock` (a dedicated connection that
 * holds it from then on), moves to a new epoch with a lease of `leaseMs`, and clears what
 * the node's earlier terms left in the registry and its inbox.
 *
 * @returns the term and what was cleared; or, when another connection holds the node's
 *   lock (another server runs with this node id), who holds it.
 */
export async function startTerm(
  lock: Sql,
  options: { sql: Sql; transact: Transact; node: string; leaseMs: number },
): Promise<{ term: NodeTerm; cleared: Sweep } | { heldBy: string }> {
  const { sql, transact, node, leaseMs } = options;
  const [row] = await lock<{ lock_key: number }[]>`
    INSERT INTO nodes (node) VALUES (${node})
    ON CONFLICT (node) DO UPDATE SET node = excluded.node
    RETURNING lock_key`;
  const lockKey = row!.lock_key;
  const [taken] = await lock<{ locked: boolean }[]>`
    SELECT pg_try_advisory_lock(${NODE_LOCK_CLASS}, ${lockKey}) AS locked`;
  if (!taken!.locked) return { heldBy: await lockHolder(sql, lockKey) };
  const [started] = await lock<{ epoch: string }[]>`
    UPDATE nodes SET epoch = epoch + 1, lease_until = now() + ${leaseMs} * interval '1 millisecond'
    WHERE node = ${node} RETURNING epoch`;
  const epoch = Number(started!.epoch);
  const ended = [{ node, epoch: epoch - 1 }];
  const cleared = await transact((tx) => clearTerms(tx, ended));
  return { term: { node, lockKey, epoch }, cleared: { terms: ended, ...cleared } };
}

/**
 * Renews the lease of `term` for `leaseMs` more (database time), on the connection that
 * holds its lock.
 *
 * @returns false when the term is over: it was swept, or this connection no longer holds
 *   the lock (it was opened again after closing).
 */
export async function renewLease(lock: Sql, term: NodeTerm, leaseMs: number): Promise<boolean> {
  const rows = await lock`
    UPDATE nodes SET lease_until = now() + ${leaseMs} * interval '1 millisecond'
    WHERE node = ${term.node} AND epoch = ${term.epoch} AND lease_until IS NOT NULL
      AND EXISTS (SELECT 1 FROM pg_locks l
                  WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.granted
                    AND l.classid::int8 = ${NODE_LOCK_CLASS} AND l.objid::int8 = ${term.lockKey}
                    AND l.objsubid = 2)
    RETURNING 1`;
  return rows.length > 0;
}

/** Ends `term` (a clean stop): the node no longer serves; its lock goes with its connection. */
export async function endTerm(transact: Transact, term: NodeTerm): Promise<Sweep> {
  return await transact(async (tx) => {
    await tx`UPDATE nodes SET lease_until = NULL WHERE node = ${term.node} AND epoch = ${term.epoch}`;
    const ended = [{ node: term.node, epoch: term.epoch }];
    return { terms: ended, ...await clearTerms(tx, ended) };
  });
}

/**
 * Sweeps the nodes other than `self` that are dead: lease passed, or lock free (the
 * process is gone). Exactly one sweeper ends each term, however many sweep at once.
 */
export async function sweepDeadNodes(transact: Transact, self: string): Promise<Sweep> {
  return await transact(async (tx) => {
    const dead = await tx<{ node: string; epoch: string }[]>`
      UPDATE nodes SET lease_until = NULL
      WHERE node <> ${self} AND lease_until IS NOT NULL
        AND (lease_until < now() OR NOT EXISTS (
          SELECT 1 FROM pg_locks l
          WHERE l.locktype = 'advisory' AND l.granted
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND l.classid::int8 = ${NODE_LOCK_CLASS} AND l.objid::int8 = nodes.lock_key
            AND l.objsubid = 2))
      RETURNING node, epoch`;
    const terms = dead.map((d) => ({ node: d.node, epoch: Number(d.epoch) }));
    if (terms.length === 0) return { terms, devices: [], stored: [] };
    // Statements after the UPDATE see what was committed meanwhile (READ COMMITTED): a claim
    // that held the node's row FOR SHARE when the UPDATE came is cleared too.
    return { terms, ...await clearTerms(tx, terms) };
  });
}

/**
 * Clears what `terms` (and the earlier terms of their nodes) left: their devices leave the
 * registry, announced offline; their inbox's direct messages become offline messages,
 * kept whatever the mailbox limits (each was accepted as delivered); other pushes go.
 */
async function clearTerms(
  tx: Sql,
  terms: { node: string; epoch: number }[],
): Promise<Omit<Sweep, "terms">> {
  const nodes = tx.array(terms.map((t) => t.node));
  const epochs = tx.array(terms.map((t) => String(t.epoch)));
  const gone = await tx<
    { name: string; node: string; epoch: string; login_order: string | null }[]
  >`
    DELETE FROM active_devices d
    USING unnest(${nodes}::text[], ${epochs}::int8[]) AS t(node, epoch)
    WHERE d.node = t.node AND d.epoch <= t.epoch
    RETURNING d.name, d.node, d.epoch, d.login_order`;
  const moved = await tx<{ recipient: string }[]>`
    WITH moved AS (
      DELETE FROM inbox i
      USING unnest(${nodes}::text[], ${epochs}::int8[]) AS t(node, epoch)
      WHERE i.node = t.node AND i.epoch <= t.epoch
      RETURNING i.id, i.kind, i.recipient, i.sender, i.text, i.sent_at)
    INSERT INTO messages (recipient, sender, text, sent_at)
    SELECT recipient, sender, text, sent_at FROM moved WHERE kind = 'message' ORDER BY id
    RETURNING recipient`;
  const notices = gone.flatMap((d) =>
    d.login_order === null ? [] : [encodePresenceNotice({
      state: "offline",
      name: d.name,
      node: d.node,
      epoch: Number(d.epoch),
      order: Number(d.login_order),
    })]
  );
  if (notices.length > 0) {
    await tx`SELECT pg_notify(${PRESENCE_CHANNEL}, n) FROM unnest(${tx.array(notices)}::text[]) n`;
  }
  return {
    devices: gone.map((d) => ({ name: d.name, node: d.node, wasActive: d.login_order !== null })),
    stored: [...new Set(moved.map((m) => m.recipient))],
  };
}

/** Who holds lock `lockKey`, for the message that refuses a second server with one node id. */
async function lockHolder(sql: Sql, lockKey: number): Promise<string> {
  const [holder] = await sql<{ application_name: string; addr: string | null; pid: number }[]>`
    SELECT a.application_name, a.client_addr::text AS addr, a.pid
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid::int8 = ${NODE_LOCK_CLASS} AND l.objid::int8 = ${lockKey} AND l.objsubid = 2`;
  if (!holder) return "another connection (it has just let go: try again)";
  const from = holder.addr ? ` from ${holder.addr}` : " over a local socket";
  return `"${holder.application_name}"${from} (PostgreSQL backend ${holder.pid})`;
}
