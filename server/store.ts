/**
 * The server's embedded database (`node:sqlite`): data-file metadata with its
 * aggregates, name lockouts, offline messages, block lists and login history. Reads are
 * synchronous; every write is asynchronous and goes through one group commit, whose WAL
 * is synced off the event loop's thread before the write's promise resolves, so anything
 * the server has acknowledged to a client survives a crash and no device's writes can
 * hold the event loop on the disk (docs/DECISIONS.md, "Crash safety"). The schema is
 * versioned through `PRAGMA user_version` and upgraded by {@linkcode MIGRATIONS}; a
 * database from a newer iotnet, or one that is not a database, is refused with
 * {@linkcode StoreError}.
 *
 * @module
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import { type Clock, systemClock } from "../internal/clock.ts";
import type { SampleAggregates } from "../protocol/samples.ts";

/** What the store keeps about one uploaded file. */
export interface StoredFile extends SampleAggregates {
  device: string;
  fileID: number;
  bytes: number;
  uploadedAt: number;
}

/**
 * Longest time between two group commits. Each commit costs a write of the WAL on the
 * event loop and an fsync on the blocking pool (about a millisecond here, much more when
 * the disk is busy), so under load commits are spaced out and each carries all the work
 * that arrived meanwhile: {@linkcode GROUP_COMMIT_MS_PER_CHANGE} for each change the last
 * commit carried, up to this. A lone change, or one long after the last commit, goes at
 * once. Measured against fixed waits in docs/DECISIONS.md.
 */
export const GROUP_COMMIT_MS = 20;
/**
 * Spacing after a commit per change it carried: a few clients (groups of one or two) wait
 * a millisecond or two, a thousand uploads at once the full {@linkcode GROUP_COMMIT_MS}.
 */
export const GROUP_COMMIT_MS_PER_CHANGE = 1;

/** The database cannot be used; the message is one line for the operator. */
export class StoreError extends Error {
  override name = "StoreError";
}

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
  // The commit journal of uploads and deletes (server/recovery.ts): a row lives from just
  // before the change reaches the data directory until its log line is written.
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
];

/**
 * An upload between "about to be renamed into place" and "logged" (server/recovery.ts).
 * Its fields are the record it will become, plus what recovery needs to tell whether the
 * rename happened and whether the log line was written.
 */
export interface PendingUpload extends StoredFile {
  /** Inode of the temporary file; the final name has it once the rename happened. */
  ino: number | null;
  /** Size of `upload-log.txt` before the upload's line: the line, if written, lies after. */
  logOffset: number;
}

/** A delete between "record forgotten" and "logged" (server/recovery.ts). */
export interface PendingDelete {
  device: string;
  fileID: number;
  /** Samples the deleted file held (the log line's dataAmount). */
  count: number;
  deletedAt: number;
  /** Size of `deletion-log.txt` before the delete's line. */
  logOffset: number;
}

interface FileRow {
  device: string;
  file_id: number;
  samples: number;
  sum: string;
  min: number;
  max: number;
  bytes: number;
  uploaded_at: number;
}

function fileFromRow(row: FileRow): StoredFile {
  return {
    device: row.device,
    fileID: row.file_id,
    count: row.samples,
    sum: BigInt(row.sum),
    min: row.min,
    max: row.max,
    bytes: row.bytes,
    uploadedAt: row.uploaded_at,
  };
}

/** A file record as the values of the columns `FileRow` lists, in that order. */
function fileValues(
  file: StoredFile,
): [string, number, number, string, number, number, number, number] {
  return [
    file.device,
    file.fileID,
    file.count,
    file.sum.toString(),
    file.min,
    file.max,
    file.bytes,
    file.uploadedAt,
  ];
}

function pendingUploadFromRow(row: FileRow & { ino: number | null; log_offset: number }) {
  return { ...fileFromRow(row), ino: row.ino, logOffset: row.log_offset };
}

function pendingDeleteFromRow(
  row: { device: string; file_id: number; samples: number; deleted_at: number; log_offset: number },
): PendingDelete {
  return {
    device: row.device,
    fileID: row.file_id,
    count: row.samples,
    deletedAt: row.deleted_at,
    logOffset: row.log_offset,
  };
}

/** How much one offline device's mailbox holds, in all and from any one sender. */
export interface MailboxLimits {
  maxCount: number;
  maxBytes: number;
  maxCountPerSender: number;
  maxBytesPerSender: number;
}

/** What {@linkcode Store.storeMessage} did: stored it, or which limit refused it. */
export type StoreMessageResult = { id: number } | { full: "sender" | "mailbox" };

/** A message stored for a device that was offline. */
export interface StoredMessage {
  id: number;
  sender: string;
  text: string;
  sentAt: number;
}

/** SQLite quotes the failing statement after a newline; the reason is the first line. */
function firstLine(message: string): string {
  return message.split("\n", 1)[0]!.replace(/ in$/, "").trim();
}

/** Milliseconds a statement waits for a lock held by another connection. */
const BUSY_TIMEOUT_MS = 5_000;

/** The store over one SQLite file (or `:memory:`). */
export class Store {
  readonly #db: DatabaseSync;
  /** Prepared statements by SQL text: compiled once, not on every call. */
  readonly #statements = new Map<string, StatementSync>();
  /** Savepoints open now (for unique names). */
  #savepoints = 0;
  /** Work waiting for the next group commit. */
  #group: {
    work: () => unknown;
    resolve: (value: unknown) => void;
    reject: (e: unknown) => void;
  }[] = [];
  readonly #clock: Clock;
  /** When the last group commit began (none yet is long ago), and how many it carried. */
  #lastCommitAt = -Infinity;
  #lastGroupSize = 0;
  /** The write-ahead log (none for `:memory:`), and a handle on it for its fsyncs. */
  /** The WAL, held open from the start for the syncs of #durable (none for `:memory:`). */
  #wal: Deno.FsFile | undefined;
  /** Settles when every WAL sync started so far has finished. */
  #syncing: Promise<void> = Promise.resolve();

  /**
   * Opens (creating if needed) and migrates the database at `path`.
   *
   * @param path the database file.
   * @param clock times the group commits.
   * @throws {StoreError} when the file is not a database or is from a newer version.
   */
  constructor(path: string, clock: Clock = systemClock) {
    this.#clock = clock;
    let db: DatabaseSync | undefined;
    try {
      this.#db = db = new DatabaseSync(path);
      this.#db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // Refuse a newer schema before anything (even the journal mode) touches the file.
      const version = this.#userVersion(path);
      const { journal_mode } = this.#statement("PRAGMA journal_mode = WAL").get() as {
        journal_mode: string;
      };
      // A commit writes the WAL and returns; #commitGroup then syncs the WAL off the event
      // loop's thread before anyone hears that the change is stored (see #durable).
      this.#db.exec("PRAGMA synchronous = NORMAL");
      this.#migrate(version);
      // SQLite creates the WAL at the first write; an empty one is a valid, empty WAL.
      if (journal_mode === "wal") {
        this.#wal = Deno.openSync(`${path}-wal`, { read: true, write: true, create: true });
      }
    } catch (error) {
      if (db?.isOpen) db.close();
      if (error instanceof StoreError) throw error;
      throw new StoreError(
        `cannot open database ${path}: ${firstLine((error as Error).message)}; ` +
          "move the file away to start with an empty store",
        { cause: error },
      );
    }
  }

  #userVersion(path: string): number {
    const row = this.#statement("PRAGMA user_version").get() as { user_version: number };
    const version = row.user_version;
    if (version > MIGRATIONS.length) {
      throw new StoreError(
        `database ${path} has schema version ${version}, newer than this iotnet's ` +
          `${MIGRATIONS.length}; run a newer iotnet or move the file away`,
      );
    }
    return version;
  }

  #migrate(version: number): void {
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.#db.exec("BEGIN");
      try {
        this.#db.exec(MIGRATIONS[v]!);
        this.#db.exec(`PRAGMA user_version = ${v + 1}`);
        this.#db.exec("COMMIT");
      } catch (error) {
        this.#db.exec("ROLLBACK");
        throw error;
      }
    }
  }

  /** Records (or replaces) an uploaded file's metadata. */
  putFile(file: StoredFile): Promise<void> {
    return this.#grouped(() => this.#putFile(file));
  }

  #putFile(file: StoredFile): void {
    this.#statement(
      `INSERT OR REPLACE INTO files (device, file_id, samples, sum, min, max, bytes, uploaded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(...fileValues(file));
  }

  /** The metadata of `device`'s file `fileID`, if it has one. */
  getFile(device: string, fileID: number): StoredFile | undefined {
    const row = this.#statement("SELECT * FROM files WHERE device = ? AND file_id = ?")
      .get(device, fileID) as FileRow | undefined;
    return row && fileFromRow(row);
  }

  /** Forgets a file; resolves with whether there was one. */
  deleteFile(device: string, fileID: number): Promise<boolean> {
    return this.#grouped(() => this.#deleteFile(device, fileID));
  }

  #deleteFile(device: string, fileID: number): boolean {
    const result = this.#statement("DELETE FROM files WHERE device = ? AND file_id = ?")
      .run(device, fileID);
    return Number(result.changes) > 0;
  }

  /** Every stored file, for checks at start-up and in tests. */
  listFiles(): StoredFile[] {
    const rows = this.#statement("SELECT * FROM files ORDER BY device, file_id")
      .all() as unknown as FileRow[];
    return rows.map(fileFromRow);
  }

  /**
   * Journals an upload about to be renamed into place (before the rename).
   * Replaces an earlier journal row of the same file.
   */
  beginUpload(pending: PendingUpload): Promise<void> {
    return this.#grouped(() => {
      this.#run(
        `INSERT OR REPLACE INTO pending_uploads
           (device, file_id, samples, sum, min, max, bytes, uploaded_at, ino, log_offset)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ...fileValues(pending),
        pending.ino,
        pending.logOffset,
      );
    });
  }

  /** The journalled upload of `device`'s file `fileID`, if there is one. */
  pendingUpload(device: string, fileID: number): PendingUpload | undefined {
    const row = this.#statement(
      "SELECT * FROM pending_uploads WHERE device = ? AND file_id = ?",
    ).get(device, fileID) as (FileRow & { ino: number | null; log_offset: number }) | undefined;
    return row && pendingUploadFromRow(row);
  }

  /** Every journalled upload. */
  pendingUploads(): PendingUpload[] {
    const rows = this.#statement("SELECT * FROM pending_uploads ORDER BY device, file_id")
      .all() as unknown as (FileRow & { ino: number | null; log_offset: number })[];
    return rows.map(pendingUploadFromRow);
  }

  /** Records an upload's file and removes its journal row, in one transaction. */
  finishUpload(file: StoredFile): Promise<void> {
    return this.#grouped(() => {
      this.#putFile(file);
      this.#dropPendingUpload(file.device, file.fileID);
    });
  }

  /** Removes an upload's journal row. */
  dropPendingUpload(device: string, fileID: number): Promise<void> {
    return this.#grouped(() => this.#dropPendingUpload(device, fileID));
  }

  #dropPendingUpload(device: string, fileID: number): void {
    this.#run("DELETE FROM pending_uploads WHERE device = ? AND file_id = ?", device, fileID);
  }

  /**
   * Forgets a file's record and journals the delete, in one transaction.
   *
   * @returns whether there was a record.
   */
  beginDelete(pending: PendingDelete): Promise<boolean> {
    return this.#grouped(() => {
      const existed = this.#deleteFile(pending.device, pending.fileID);
      this.#statement(
        `INSERT OR REPLACE INTO pending_deletes (device, file_id, samples, deleted_at, log_offset)
         VALUES (?, ?, ?, ?, ?)`,
      ).run(
        pending.device,
        pending.fileID,
        pending.count,
        pending.deletedAt,
        pending.logOffset,
      );
      return existed;
    });
  }

  /** The journalled delete of `device`'s file `fileID`, if there is one. */
  pendingDelete(device: string, fileID: number): PendingDelete | undefined {
    const row = this.#statement(
      "SELECT * FROM pending_deletes WHERE device = ? AND file_id = ?",
    ).get(device, fileID) as Parameters<typeof pendingDeleteFromRow>[0] | undefined;
    return row && pendingDeleteFromRow(row);
  }

  /** Every journalled delete. */
  pendingDeletes(): PendingDelete[] {
    const rows = this.#statement("SELECT * FROM pending_deletes ORDER BY device, file_id")
      .all() as unknown as Parameters<typeof pendingDeleteFromRow>[0][];
    return rows.map(pendingDeleteFromRow);
  }

  /** Removes a delete's journal row. */
  dropPendingDelete(device: string, fileID: number): Promise<void> {
    return this.#grouped(() => {
      this.#run("DELETE FROM pending_deletes WHERE device = ? AND file_id = ?", device, fileID);
    });
  }

  /** Runs a statement that changes rows; returns how many it changed. */
  #run(sql: string, ...values: (string | number | null)[]): number {
    return Number(this.#statement(sql).run(...values).changes);
  }

  /** The prepared statement for `sql`, compiled on first use. */
  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /**
   * Runs `work` atomically. Nestable: inside a transaction it is a savepoint, so a
   * failure rolls back `work` alone.
   */
  #transaction<T>(work: () => T): T {
    const name = `s${this.#savepoints++}`;
    this.#db.exec(`SAVEPOINT ${name}`);
    try {
      const result = work();
      this.#db.exec(`RELEASE ${name}`);
      return result;
    } catch (error) {
      this.#db.exec(`ROLLBACK TO ${name}`);
      this.#db.exec(`RELEASE ${name}`);
      throw error;
    } finally {
      this.#savepoints--;
    }
  }

  /**
   * Group commit, the only way anything is written: runs `work` in a transaction shared
   * with every other change made before it commits, with one fsync: at once (after the
   * current task) when the last commit is old enough (see {@linkcode GROUP_COMMIT_MS}),
   * else when it will be. The promise settles once that commit is durable, or with
   * `work`'s own error (its changes alone are rolled back). Under a thousand concurrent
   * uploads this turns two fsyncs per upload on the event loop's thread into fifty a
   * second, and a device flooding the server with blocks or acks gets no more fsyncs
   * than that either (docs/BENCHMARKS.md, "Hostile device").
   */
  #grouped<T>(work: () => T): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    this.#group.push({ work, resolve: resolve as (value: unknown) => void, reject });
    if (this.#group.length === 1) {
      // Bounded both ways: a clock set back must not hold commits up for longer.
      const spacing = Math.min(GROUP_COMMIT_MS, this.#lastGroupSize * GROUP_COMMIT_MS_PER_CHANGE);
      const wait = this.#lastCommitAt + spacing - this.#clock.now();
      this.#clock.setTimeout(() => this.#commitGroup(), Math.min(spacing, Math.max(0, wait)));
    }
    return promise;
  }

  #commitGroup(): void {
    const group = this.#group;
    // Already committed by close().
    if (group.length === 0) return;
    this.#group = [];
    this.#lastCommitAt = this.#clock.now();
    this.#lastGroupSize = group.length;
    const done: { resolve: (value: unknown) => void; value: unknown }[] = [];
    try {
      this.#db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      for (const item of group) item.reject(error);
      return;
    }
    for (const item of group) {
      try {
        done.push({ resolve: item.resolve, value: this.#transaction(item.work) });
      } catch (error) {
        item.reject(error);
      }
    }
    try {
      this.#db.exec("COMMIT");
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      for (const item of group) item.reject(error);
      return;
    }
    this.#durable().then(
      () => {
        for (const item of done) item.resolve(item.value);
      },
      (error) => {
        for (const item of done) item.resolve(Promise.reject(error));
      },
    );
  }

  /**
   * Makes the commits so far durable: an fdatasync of the WAL on Deno's blocking-thread
   * pool, so the event loop never waits for the disk. With `synchronous = NORMAL` SQLite
   * writes a commit's frames to the WAL without syncing it, and syncs the WAL itself
   * before a checkpoint copies frames into the database; this sync after each commit is
   * what `synchronous = FULL` would do on the event loop's thread, at the same point in
   * the order: after the commit frame is written, before the change is acknowledged. A
   * change is visible to reads once committed; nothing tells a client it is stored before
   * this resolves.
   */
  #durable(): Promise<void> {
    if (this.#wal === undefined) return Promise.resolve();
    let sync: Promise<void>;
    try {
      sync = this.#wal.syncData();
    } catch (error) {
      // Runs in a timer: a failure goes to the group's callers, never up the stack.
      return Promise.reject(error);
    }
    this.#syncing = Promise.all([this.#syncing, sync]).then(() => {}, () => {});
    return sync;
  }

  /** Until when `device` is blocked (ms epoch), if a lockout is recorded. */
  lockoutUntil(device: string): number | undefined {
    const row = this.#statement("SELECT until FROM lockouts WHERE device = ?").get(device) as
      | { until: number }
      | undefined;
    return row?.until;
  }

  /** Records that `device` is blocked until `until` (ms epoch); resolves once durable. */
  setLockout(device: string, until: number): Promise<void> {
    return this.#grouped(() => {
      this.#run("INSERT OR REPLACE INTO lockouts (device, until) VALUES (?, ?)", device, until);
    });
  }

  /** Removes `device`'s lockout. */
  clearLockout(device: string): Promise<void> {
    return this.#grouped(() => {
      this.#run("DELETE FROM lockouts WHERE device = ?", device);
    });
  }

  /**
   * Stores a message for an offline device, unless its mailbox is full or the sender's
   * share of it is. Resolves once the message is durable.
   *
   * @returns the message id, or which limit refused it: `sender` when `message.sender`
   *   already has `maxCountPerSender` messages or `maxBytesPerSender` bytes of text
   *   waiting for this recipient, `mailbox` when the recipient holds `maxCount` messages
   *   or `maxBytes` bytes in all.
   */
  storeMessage(
    message: { recipient: string; sender: string; text: string; sentAt: number },
    limits: MailboxLimits,
  ): Promise<StoreMessageResult> {
    const bytes = new TextEncoder().encode(message.text).length;
    return this.#grouped((): StoreMessageResult => {
      const queued = this.#statement(
        `SELECT count(*) AS n,
                coalesce(sum(length(CAST(text AS BLOB))), 0) AS bytes,
                count(*) FILTER (WHERE sender = ?1) AS mine,
                coalesce(sum(length(CAST(text AS BLOB))) FILTER (WHERE sender = ?1), 0) AS my_bytes
           FROM messages WHERE recipient = ?2`,
      ).get(message.sender, message.recipient) as {
        n: number;
        bytes: number;
        mine: number;
        my_bytes: number;
      };
      if (
        queued.mine >= limits.maxCountPerSender ||
        queued.my_bytes + bytes > limits.maxBytesPerSender
      ) return { full: "sender" };
      if (queued.n >= limits.maxCount || queued.bytes + bytes > limits.maxBytes) {
        return { full: "mailbox" };
      }
      const result = this.#statement(
        "INSERT INTO messages (recipient, sender, text, sent_at) VALUES (?, ?, ?, ?)",
      ).run(message.recipient, message.sender, message.text, message.sentAt);
      return { id: Number(result.lastInsertRowid) };
    });
  }

  /** The messages waiting for `recipient`, oldest first. */
  pendingMessages(recipient: string): StoredMessage[] {
    const rows = this.#statement(
      "SELECT id, sender, text, sent_at FROM messages WHERE recipient = ? ORDER BY id",
    ).all(recipient) as { id: number; sender: string; text: string; sent_at: number }[];
    return rows.map((r) => ({ id: r.id, sender: r.sender, text: r.text, sentAt: r.sent_at }));
  }

  /** Removes a delivered message; only its recipient may. Resolves with whether it existed. */
  deleteMessage(recipient: string, id: number): Promise<boolean> {
    return this.#grouped(() =>
      this.#run("DELETE FROM messages WHERE id = ? AND recipient = ?", id, recipient) > 0
    );
  }

  /** Records that `blocker` blocks `blocked`; resolves with false if it already did. */
  addBlock(blocker: string, blocked: string): Promise<boolean> {
    return this.#grouped(() =>
      this.#run("INSERT OR IGNORE INTO blocks (blocker, blocked) VALUES (?, ?)", blocker, blocked) >
        0
    );
  }

  /** Lifts a block; resolves with false if there was none. */
  removeBlock(blocker: string, blocked: string): Promise<boolean> {
    return this.#grouped(() =>
      this.#run("DELETE FROM blocks WHERE blocker = ? AND blocked = ?", blocker, blocked) > 0
    );
  }

  /** Whether `blocker` blocks `blocked`. */
  isBlocked(blocker: string, blocked: string): boolean {
    return this.#statement("SELECT 1 FROM blocks WHERE blocker = ? AND blocked = ?")
      .get(blocker, blocked) !== undefined;
  }

  /** The devices that block `device`. */
  blockersOf(device: string): Set<string> {
    const rows = this.#statement("SELECT blocker FROM blocks WHERE blocked = ?").all(device) as {
      blocker: string;
    }[];
    return new Set(rows.map((r) => r.blocker));
  }

  /** The devices `device` blocks. */
  blockedBy(device: string): Set<string> {
    const rows = this.#statement("SELECT blocked FROM blocks WHERE blocker = ?").all(device) as {
      blocked: string;
    }[];
    return new Set(rows.map((r) => r.blocked));
  }

  /** Records that `device` was online at `at` (ms epoch). */
  markSeen(device: string, at: number): Promise<void> {
    return this.#grouped(() => {
      this.#run(
        "INSERT OR REPLACE INTO presence_history (device, last_seen) VALUES (?, ?)",
        device,
        at,
      );
    });
  }

  /** Devices last seen online at or after `since` (ms epoch). */
  seenSince(since: number): string[] {
    const rows = this.#statement(
      "SELECT device FROM presence_history WHERE last_seen >= ? ORDER BY device",
    ).all(since) as { device: string }[];
    return rows.map((r) => r.device);
  }

  /** Commits the changes still waiting for their group, then closes the database. */
  close(): void {
    if (!this.#db.isOpen) return;
    this.#commitGroup();
    // Closing checkpoints the WAL into the database file and syncs it.
    this.#db.close();
    const wal = this.#wal;
    if (wal) void this.#syncing.then(() => wal.close());
  }
}
