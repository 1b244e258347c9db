/**
 * The database schema, as steps: {@linkcode MIGRATIONS}[i] upgrades a database from
 * `user_version` i to i + 1. A step is added, never changed.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";

/** Schema steps; index i upgrades from user_version i to i + 1. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE files (
     device TEXT NOT NULL,
     file_id INTEGER NOT NULL,
     samples INTEGER NOT NULL,
     sum TEXT NOT NULL,
     min INTEGER NOT NULL,
     max INTEGER NOT NULL,
     bytes INTEGER NOT NULL,
     uploaded_at INTEGER NOT NULL,
     PRIMARY KEY (device, file_id)
   ) STRICT;
   CREATE TABLE lockouts (
     device TEXT PRIMARY KEY,
     until INTEGER NOT NULL
   ) STRICT;`,
  `CREATE TABLE messages (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     recipient TEXT NOT NULL,
     sender TEXT NOT NULL,
     text TEXT NOT NULL,
     sent_at INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX messages_by_recipient ON messages (recipient, id);
   CREATE TABLE blocks (
     blocker TEXT NOT NULL,
     blocked TEXT NOT NULL,
     PRIMARY KEY (blocker, blocked)
   ) STRICT;
   CREATE INDEX blocks_by_blocked ON blocks (blocked);
   CREATE TABLE presence_history (
     device TEXT PRIMARY KEY,
     last_seen INTEGER NOT NULL
   ) STRICT;`,
  // The commit journal of uploads and deletes (server/file_commits.ts): a row lives from
  // just before the change reaches the data directory until its log line is written.
  `CREATE TABLE pending_uploads (
     device TEXT NOT NULL,
     file_id INTEGER NOT NULL,
     samples INTEGER NOT NULL,
     sum TEXT NOT NULL,
     min INTEGER NOT NULL,
     max INTEGER NOT NULL,
     bytes INTEGER NOT NULL,
     uploaded_at INTEGER NOT NULL,
     ino INTEGER,
     log_offset INTEGER NOT NULL,
     PRIMARY KEY (device, file_id)
   ) STRICT;
   CREATE TABLE pending_deletes (
     device TEXT NOT NULL,
     file_id INTEGER NOT NULL,
     samples INTEGER NOT NULL,
     deleted_at INTEGER NOT NULL,
     log_offset INTEGER NOT NULL,
     PRIMARY KEY (device, file_id)
   ) STRICT;`,
  // Each file's plot summary (protocol/plot_summary.ts) as JSON, written with its record;
  // NULL for files stored before it existed.
  `ALTER TABLE files ADD COLUMN plot TEXT;
   ALTER TABLE pending_uploads ADD COLUMN plot TEXT;`,
  // Each device's recent visits (logins and logouts) for its page; until and reason are NULL
  // while it is online, or when the server stopped before the logout was recorded.
  `CREATE TABLE presence_visits (
     device TEXT NOT NULL,
     since INTEGER NOT NULL,
     until INTEGER,
     reason TEXT,
     ip TEXT NOT NULL,
     PRIMARY KEY (device, since)
   ) STRICT, WITHOUT ROWID;`,
  // What the overview shows of the store, kept as it is written (one row, updated by
  // triggers in each write's transaction): a count or sum over the files table blocks the
  // event loop for as long as the scan takes (docs/DECISIONS.md, "The overview's store
  // totals"). Running lockouts are counted through an index on their end.
  `CREATE TABLE store_totals (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     files INTEGER NOT NULL,
     samples INTEGER NOT NULL,
     bytes INTEGER NOT NULL,
     messages INTEGER NOT NULL
   ) STRICT;
   INSERT INTO store_totals (id, files, samples, bytes, messages)
     SELECT 1, count(*), coalesce(sum(samples), 0), coalesce(sum(bytes), 0),
            (SELECT count(*) FROM messages)
       FROM files;
   CREATE TRIGGER files_added AFTER INSERT ON files BEGIN
     UPDATE store_totals SET files = files + 1, samples = samples + NEW.samples,
                             bytes = bytes + NEW.bytes;
   END;
   CREATE TRIGGER files_removed AFTER DELETE ON files BEGIN
     UPDATE store_totals SET files = files - 1, samples = samples - OLD.samples,
                             bytes = bytes - OLD.bytes;
   END;
   CREATE TRIGGER files_replaced AFTER UPDATE OF samples, bytes ON files BEGIN
     UPDATE store_totals SET samples = samples - OLD.samples + NEW.samples,
                             bytes = bytes - OLD.bytes + NEW.bytes;
   END;
   CREATE TRIGGER messages_added AFTER INSERT ON messages BEGIN
     UPDATE store_totals SET messages = messages + 1;
   END;
   CREATE TRIGGER messages_removed AFTER DELETE ON messages BEGIN
     UPDATE store_totals SET messages = messages - 1;
   END;
   CREATE INDEX lockouts_by_until ON lockouts (until);`,
  // The journal no longer keeps an upload's plot summary: recovery makes it again from the
  // file (docs/DECISIONS.md, "An upload's plot summary is written once").
  `ALTER TABLE pending_uploads DROP COLUMN plot;`,
];

/** The schema version this iotnet writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Upgrades `db` from schema version `from` to {@linkcode SCHEMA_VERSION}, one transaction
 * per step: a step that fails leaves the database at the version before it.
 *
 * @throws the database's error when a step fails.
 */
export function migrate(db: DatabaseSync, from: number): void {
  for (let version = from; version < MIGRATIONS.length; version++) {
    db.exec("BEGIN");
    try {
      db.exec(MIGRATIONS[version]!);
      db.exec(`PRAGMA user_version = ${version + 1}`);
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  }
}
