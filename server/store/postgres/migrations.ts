/**
 * The PostgreSQL schema, as steps: {@linkcode POSTGRES_MIGRATIONS}[i] upgrades a database
 * from version i to i + 1 (kept in the one-row table `iotnet_schema`). A step is added,
 * never changed. Several nodes may start at once on one database: each step runs in its
 * own transaction under one advisory lock, so exactly one node applies it.
 *
 * @module
 */

import type { Transact } from "./transactions.ts";
import { StoreError } from "../store_error.ts";

/**
 * Key of the transaction-level advisory lock that serialises migrations between nodes
 * (an arbitrary constant: "iotnet" in ASCII).
 */
export const MIGRATION_LOCK = 0x696f746e6574;

/** Schema steps; index i upgrades from version i to i + 1. */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  // The tables of the SQLite store (server/store/migrations.ts) with PostgreSQL's types:
  // `sum` is numeric (exact at any size), times and sizes bigint. A file record and the
  // commit journal also name the node whose data directory holds the file: the journal
  // is each node's own (its recovery reads only its rows), the records are everyone's.
  `CREATE TABLE files (
     device text NOT NULL,
     file_id bigint NOT NULL,
     samples bigint NOT NULL,
     sum numeric NOT NULL,
     min bigint NOT NULL,
     max bigint NOT NULL,
     bytes bigint NOT NULL,
     uploaded_at bigint NOT NULL,
     node text NOT NULL,
     PRIMARY KEY (device, file_id)
   );
   CREATE TABLE lockouts (
     device text PRIMARY KEY,
     until bigint NOT NULL
   );
   CREATE TABLE messages (
     id bigserial PRIMARY KEY,
     recipient text NOT NULL,
     sender text NOT NULL,
     text text NOT NULL,
     sent_at bigint NOT NULL
   );
   CREATE INDEX messages_by_recipient ON messages (recipient, id);
   CREATE TABLE blocks (
     blocker text NOT NULL,
     blocked text NOT NULL,
     PRIMARY KEY (blocker, blocked)
   );
   CREATE INDEX blocks_by_blocked ON blocks (blocked);
   CREATE TABLE presence_history (
     device text PRIMARY KEY,
     last_seen bigint NOT NULL
   );
   CREATE TABLE pending_uploads (
     node text NOT NULL,
     device text NOT NULL,
     file_id bigint NOT NULL,
     samples bigint NOT NULL,
     sum numeric NOT NULL,
     min bigint NOT NULL,
     max bigint NOT NULL,
     bytes bigint NOT NULL,
     uploaded_at bigint NOT NULL,
     ino bigint,
     log_offset bigint NOT NULL,
     PRIMARY KEY (node, device, file_id)
   );
   CREATE TABLE pending_deletes (
     node text NOT NULL,
     device text NOT NULL,
     file_id bigint NOT NULL,
     samples bigint NOT NULL,
     deleted_at bigint NOT NULL,
     log_offset bigint NOT NULL,
     PRIMARY KEY (node, device, file_id)
   );`,
  // Each file's plot summary (protocol/plot_summary.ts) as JSON text, written with its
  // record; NULL for files stored before it existed.
  `ALTER TABLE files ADD COLUMN plot text;
   ALTER TABLE pending_uploads ADD COLUMN plot text;`,
  // Each device's recent visits (logins and logouts) for its page, as in SQLite.
  `CREATE TABLE presence_visits (
     device text NOT NULL,
     since bigint NOT NULL,
     until bigint,
     reason text,
     ip text NOT NULL,
     PRIMARY KEY (device, since)
   );`,
  // Login attempts reserved across nodes (login_attempts.ts): a lockouts row also counts a
  // name's consecutive failures and the time of the last; `until` is NULL while the name is
  // neither held nor blocked.
  `ALTER TABLE lockouts ALTER COLUMN until DROP NOT NULL;
   ALTER TABLE lockouts ADD COLUMN failures integer NOT NULL DEFAULT 0;
   ALTER TABLE lockouts ADD COLUMN last bigint NOT NULL DEFAULT 0;
   CREATE INDEX lockouts_by_last ON lockouts (last);`,
  // Files across nodes (files.ts): jobs one node leaves for another (node_jobs.ts;
  // `payload` is the job's JSON, server/cluster/node_job.ts, `created` ms since the epoch
  // on the database's clock); a network-wide version per upload, taken when it is
  // journalled, so that an older upload finished late never replaces a newer record.
  `CREATE SEQUENCE file_versions;
   ALTER TABLE files ADD COLUMN version bigint NOT NULL DEFAULT 0;
   ALTER TABLE pending_uploads ADD COLUMN version bigint NOT NULL DEFAULT 0;
   CREATE TABLE node_jobs (
     id bigserial PRIMARY KEY,
     node text NOT NULL,
     kind text NOT NULL,
     payload text NOT NULL,
     created bigint NOT NULL DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::bigint
   );
   CREATE INDEX node_jobs_by_node ON node_jobs (node, id);`,
  // The network (docs/DECISIONS.md, "One network on PostgreSQL"). `nodes`: one row per node
  // id; `lock_key` names its session advisory lock and its NOTIFY channel, `epoch` grows at
  // each start, `lease_until` (database time) is NULL while the node is not serving.
  // `active_devices`: the registry, whose primary key is the login claim; a row is claimed
  // (no `login_order`) until its device registers its UDP port. `inbox`: pushes for devices
  // of one node, taken by that node; a direct message carries its fields so that it can
  // become an offline message when its recipient is gone. `private_requests` and
  // `private_chats` (a < b): the private chats of `server/private_chats.ts`, shared.
  `CREATE TABLE nodes (
     node text PRIMARY KEY,
     lock_key integer GENERATED ALWAYS AS IDENTITY UNIQUE,
     epoch bigint NOT NULL DEFAULT 0,
     lease_until timestamptz
   );
   CREATE SEQUENCE login_order;
   CREATE TABLE active_devices (
     name text PRIMARY KEY,
     node text NOT NULL,
     epoch bigint NOT NULL,
     login_order bigint,
     since bigint,
     ip text,
     udp_port integer,
     ticket_key bytea
   );
   CREATE INDEX active_devices_by_node ON active_devices (node, epoch);
   CREATE TABLE inbox (
     id bigserial PRIMARY KEY,
     node text NOT NULL,
     epoch bigint NOT NULL,
     kind text NOT NULL CHECK (kind IN ('push', 'message', 'broadcast', 'mailbox')),
     recipient text,
     frame bytea,
     sender text,
     text text,
     sent_at bigint
   );
   CREATE INDEX inbox_by_node ON inbox (node, id);
   CREATE TABLE private_requests (
     requester text NOT NULL,
     target text NOT NULL,
     expires_at bigint NOT NULL,
     PRIMARY KEY (requester, target)
   );
   CREATE INDEX private_requests_by_target ON private_requests (target);
   CREATE TABLE private_chats (
     a text NOT NULL,
     b text NOT NULL,
     chat_id text NOT NULL,
     PRIMARY KEY (a, b)
   );
   CREATE INDEX private_chats_by_b ON private_chats (b);`,
  // The overview counts the running lockouts through their end (lockouts.ts).
  `CREATE INDEX lockouts_by_until ON lockouts (until);`,
  // A plot summary (~26 kB of JSON for a 10,000-sample file) is stored out of line but
  // not compressed: pglz took ~1.2 ms of the database's CPU per row for a gain of a
  // quarter, and every upload writes the plot twice (journal, then record). Measured by
  // `deno task bench cluster` (docs/DECISIONS.md, "A node's traffic to PostgreSQL under load").
  `ALTER TABLE files ALTER COLUMN plot SET STORAGE EXTERNAL;
   ALTER TABLE pending_uploads ALTER COLUMN plot SET STORAGE EXTERNAL;`,
  // The journal no longer keeps an upload's plot summary: recovery makes it again from the
  // file, and each upload writes the plot once, with its record (docs/DECISIONS.md, "An
  // upload's plot summary is written once").
  `ALTER TABLE pending_uploads DROP COLUMN plot;`,
];

/** The schema version this iotnet writes. */
export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS.length;

/**
 * Upgrades the database behind `sql` to {@linkcode POSTGRES_SCHEMA_VERSION}, one
 * transaction per step under {@linkcode MIGRATION_LOCK}: a step that fails leaves the
 * database at the version before it, and a node that waited for another's step finds it
 * done.
 *
 * @param transact runs each step as one transaction.
 * @param where the database, as the operator named it (for messages).
 * @throws {StoreError} when the database is from a newer iotnet.
 * @throws the database's error when a step fails.
 */
export async function migratePostgres(transact: Transact, where: string): Promise<void> {
  for (;;) {
    const done = await transact(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
      await tx`CREATE TABLE IF NOT EXISTS iotnet_schema (version integer NOT NULL)`;
      const [row] = await tx<{ version: number }[]>`SELECT version FROM iotnet_schema`;
      if (!row) await tx`INSERT INTO iotnet_schema (version) VALUES (0)`;
      const version = row?.version ?? 0;
      if (version > POSTGRES_SCHEMA_VERSION) {
        throw new StoreError(
          `database ${where} has schema version ${version}, newer than this iotnet's ` +
            `${POSTGRES_SCHEMA_VERSION}; run a newer iotnet on every node`,
        );
      }
      if (version === POSTGRES_SCHEMA_VERSION) return true;
      await tx.unsafe(POSTGRES_MIGRATIONS[version]!);
      await tx`UPDATE iotnet_schema SET version = ${version + 1}`;
      return false;
    });
    if (done) return;
  }
}
