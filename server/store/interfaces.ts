/**
 * What the server keeps in its database, as the narrow repositories its parts depend on:
 * {@linkcode FileRecords} (uploaded files' aggregates and the commit journal of uploads
 * and deletes), {@linkcode Lockouts}, {@linkcode Mailbox}, {@linkcode Blocks} and
 * {@linkcode PresenceHistory}, gathered in a {@linkcode Store}. A handler is given the
 * repositories it needs, never the database.
 *
 * Every method returns a promise, reads included, so an implementation over a networked
 * database (PostgreSQL) can satisfy the same interfaces. The SQLite implementation
 * (`sqlite_store.ts`) answers reads at once from its in-process database (a read costs a
 * microtask more than a synchronous call) and puts every write into one group commit
 * (docs/DECISIONS.md, "The store behind interfaces").
 *
 * **Durability.** A write's promise resolves once the change is durable: a crash after
 * that loses nothing. A change may be visible to reads a little earlier (SQLite's group
 * commit makes it visible when committed, before the WAL is synced); nothing is told to a
 * client before the write's promise resolves.
 *
 * **Atomicity.** Each write method is one transaction: where a method changes two things
 * (`finishUpload`, `beginDelete`, `add` with its limits check) either both happen or
 * neither does, and a failed write changes nothing.
 *
 * The behaviour every implementation must have is written once, as the contract suite in
 * `store_contract.ts`.
 *
 * @module
 */

import type { FilePlot } from "../../protocol/plot_summary.ts";
import type { SampleAggregates } from "../../protocol/samples.ts";

/** What the store keeps about one uploaded file. */
export interface StoredFile extends SampleAggregates {
  device: string;
  fileID: number;
  bytes: number;
  uploadedAt: number;
}

/** A device's stored files in brief ({@linkcode FileRecords.summaryOfDevice}). */
export interface DeviceFilesSummary {
  files: number;
  /** The latest `uploadedAt` of its records, or `undefined` with none. */
  lastUploadAt: number | undefined;
}

/**
 * A file's record as it is written: with its plot summary (protocol/plot_summary.ts),
 * computed in the upload's pass and stored in the same transaction as the record. Reads
 * of records ({@linkcode FileRecords.get}, `list`) leave the plot out, so SCS never reads
 * it; {@linkcode FileRecords.plot} reads it alone.
 */
export interface NewFile extends StoredFile {
  /** The plot summary; absent for a record written without one. */
  plot?: FilePlot;
}

/**
 * An upload between "about to be renamed into place" and "logged" (server/file_commits.ts).
 * Its fields are the record it will become, less its plot summary, plus what recovery needs
 * to tell whether the rename happened and whether the log line was written. Recovery makes
 * the plot summary again from the file in place: journalled, it would be written twice per
 * upload (~26 kB for 10,000 samples; docs/DECISIONS.md, "An upload's plot summary is
 * written once").
 */
export interface PendingUpload extends StoredFile {
  /** Inode of the temporary file; the final name has it once the rename happened. */
  ino: number | null;
  /** Size of `upload-log.txt` before the upload's line: the line, if written, lies after. */
  logOffset: number;
}

/** A delete between "record forgotten" and "logged" (server/file_commits.ts). */
export interface PendingDelete {
  device: string;
  fileID: number;
  /** Samples the deleted file held (the log line's dataAmount). */
  count: number;
  deletedAt: number;
  /** Size of `deletion-log.txt` before the delete's line. */
  logOffset: number;
}

/** What the stored files hold in all (the overview). */
export interface FileTotals {
  /** Files with a record. */
  files: number;
  /** Their samples. */
  samples: number;
  /** Their bytes. */
  bytes: number;
}

/**
 * Uploaded files' records (for SCS) and the commit journal of the uploads and deletes
 * under way, which recovery reads after a crash. At most one journalled upload and one
 * journalled delete per file: a new one replaces the old.
 */
export interface FileRecords {
  /** The record of `device`'s file `fileID`, if it has one. */
  get(device: string, fileID: number): Promise<StoredFile | undefined>;
  /** Every record, ordered by device, then file ID. */
  list(): Promise<StoredFile[]>;
  /**
   * The records of the files this server's data directory holds, ordered by device, then
   * file ID: on one server every record; in a network (SPEC §9) those of the files uploaded
   * through this node (start-up recovery checks them against its disk).
   */
  held(): Promise<StoredFile[]>;
  /**
   * Whether `device`'s file `fileID` has a record naming this server's data directory as
   * the one holding the file (on one server: whether it has a record).
   */
  holds(device: string, fileID: number): Promise<boolean>;
  /** `device`'s records, by file ID, at most `limit` of them (the device page). */
  ofDevice(device: string, limit: number): Promise<StoredFile[]>;
  /**
   * How many records `device` has and the latest upload time among them (ms epoch), or
   * `undefined` with none (the devices page): one aggregate over the device's range of the
   * primary key, no record read out.
   */
  summaryOfDevice(device: string): Promise<DeviceFilesSummary>;
  /**
   * The plot summary stored with `device`'s file `fileID`, if it has a record that was
   * written with one.
   */
  plot(device: string, fileID: number): Promise<FilePlot | undefined>;
  /**
   * How many files have a record, and their samples and bytes, over every node's files.
   * Cheap at any number of records: SQLite keeps the totals as it writes (the first read
   * of 100,000 records cost 60 ms to 1.8 s of the event loop, docs/DECISIONS.md).
   */
  totals(): Promise<FileTotals>;
  /** Records (or replaces) a file's record, with its plot summary if given. */
  put(file: NewFile): Promise<void>;
  /** Forgets a file's record; resolves with whether there was one. */
  remove(device: string, fileID: number): Promise<boolean>;
  /** Journals an upload about to be renamed into place, replacing an earlier row of the file. */
  beginUpload(pending: PendingUpload): Promise<void>;
  /**
   * Records an upload's file (with its plot summary, if given) and removes its journal
   * row, in one transaction.
   *
   * @returns whether the record was written: in a network (SPEC §9) not when the file was
   *   uploaded again through another node after this upload was journalled (a node that
   *   crashed between its rename and its record, finishing at restart); that newer record
   *   is kept.
   */
  finishUpload(file: NewFile): Promise<boolean>;
  /** Removes a file's journalled upload, if any. */
  dropPendingUpload(device: string, fileID: number): Promise<void>;
  /** The journalled upload of `device`'s file `fileID`, if there is one. */
  pendingUpload(device: string, fileID: number): Promise<PendingUpload | undefined>;
  /** Every journalled upload, ordered by device, then file ID. */
  pendingUploads(): Promise<PendingUpload[]>;
  /**
   * Forgets a file's record and journals its delete, in one transaction.
   *
   * @returns whether there was a record.
   */
  beginDelete(pending: PendingDelete): Promise<boolean>;
  /** Removes a file's journalled delete, if any. */
  dropPendingDelete(device: string, fileID: number): Promise<void>;
  /** The journalled delete of `device`'s file `fileID`, if there is one. */
  pendingDelete(device: string, fileID: number): Promise<PendingDelete | undefined>;
  /** Every journalled delete, ordered by device, then file ID. */
  pendingDeletes(): Promise<PendingDelete[]>;
}

/** Names blocked after too many failed logins, and until when; kept across restarts. */
export interface Lockouts {
  /** Until when `device` is blocked (ms epoch), if a lockout is recorded. */
  until(device: string): Promise<number | undefined>;
  /** Records that `device` is blocked until `until` (ms epoch), replacing an earlier one. */
  set(device: string, until: number): Promise<void>;
  /** Removes `device`'s lockout, if any. */
  clear(device: string): Promise<void>;
  /**
   * The lockouts still running at `now` (ms epoch), the one that ends last first (then by
   * name), at most `limit` of them (the security page).
   */
  current(now: number, limit: number): Promise<{ device: string; until: number }[]>;
  /** How many lockouts are running at `now` (ms epoch), counted up to `limit`. */
  running(now: number, limit: number): Promise<number>;
}

/** The throttling rules an attempt is reserved and settled under (SPEC §1). */
export interface AttemptRules {
  /** The attempt's time (ms epoch, the server's clock). */
  now: number;
  /** Consecutive failed logins that block a name (`<attempts>`). */
  attempts: number;
  /** How long a block lasts. */
  blockMs: number;
}

/**
 * What reserving an attempt gave: its place among the name's consecutive attempts
 * (1..`attempts`), or a refusal with the time the name is held until.
 */
export type AttemptReservation =
  | { granted: true; number: number }
  | { granted: false; until: number };

/** A name whose last logins failed, and how many in a row. */
export interface FailedLogins {
  device: string;
  failures: number;
  /** The last one's time (ms epoch). */
  at: number;
}

/**
 * Consecutive failed logins by name and the blocks they lead to (SPEC §1), shared by every
 * server on the store (SPEC §9). An attempt is **reserved before its check runs** and
 * counts as a failure from then on, until its check succeeds: so attempts checked at once,
 * on any number of servers, never exceed `attempts` before the name is blocked, and an
 * attempt whose server died during its check stays a failure (fail closed) instead of
 * leaking.
 *
 * - {@linkcode LoginAttempts.reserve} grants the next number while fewer than `attempts`
 *   are counted and no block runs; a block that has ended is forgotten first, so the count
 *   starts again from 1. Reserving the last attempt holds the name at once, as a block of
 *   `blockMs` from then: every other attempt is refused while the last one is checked, and
 *   if its server dies the hold simply ends like a block.
 * - {@linkcode LoginAttempts.failed} of the last attempt starts the block from its failure.
 * - {@linkcode LoginAttempts.succeeded} forgets the name's failures, hold and block.
 */
export interface LoginAttempts {
  /** Reserves one attempt for `device`, atomically for every server on the store. */
  reserve(device: string, rules: AttemptRules): Promise<AttemptReservation>;
  /** The check of `device`'s reserved attempt succeeded: its count, hold and block go. */
  succeeded(device: string): Promise<void>;
  /**
   * The check of `device`'s attempt `number` failed. The failure was counted when the
   * attempt was reserved; the last attempt's failure starts the block now.
   *
   * @returns until when the name is blocked, when this failure blocked it.
   */
  failed(device: string, number: number, rules: AttemptRules): Promise<number | undefined>;
  /**
   * The names whose last attempts failed (or are being checked) and that are not blocked,
   * the most recent first, at most `limit` (the security page).
   */
  recentFailures(limit: number): Promise<FailedLogins[]>;
}

/** How much one offline device's mailbox holds, in all and from any one sender. */
export interface MailboxLimits {
  maxCount: number;
  maxBytes: number;
  maxCountPerSender: number;
  maxBytesPerSender: number;
}

/** A message for a device that is offline. */
export interface NewMessage {
  recipient: string;
  sender: string;
  text: string;
  sentAt: number;
}

/** What {@linkcode Mailbox.add} did: stored it, or which limit refused it. */
export type StoreMessageResult = { id: number } | { full: "sender" | "mailbox" };

/** A message stored for a device that was offline. */
export interface StoredMessage {
  id: number;
  sender: string;
  text: string;
  sentAt: number;
}

/** Messages waiting for devices that were offline, until their recipients ack them. */
export interface Mailbox {
  /**
   * Stores a message, unless the recipient's mailbox is full or the sender's share of it
   * is. Text is measured in UTF-8 bytes.
   *
   * @returns the message's id (ids grow: a later message has a larger id), or which limit
   *   refused it: `sender` when the sender already has `maxCountPerSender` messages or
   *   would pass `maxBytesPerSender` bytes waiting for this recipient (checked first),
   *   `mailbox` when the recipient holds `maxCount` messages or would pass `maxBytes`.
   */
  add(message: NewMessage, limits: MailboxLimits): Promise<StoreMessageResult>;
  /** How many messages wait, for every recipient together. */
  waiting(): Promise<number>;
  /** The messages waiting for `recipient`, oldest first. */
  pending(recipient: string): Promise<StoredMessage[]>;
  /** Removes a delivered message; only its recipient may. Resolves with whether it existed. */
  remove(recipient: string, id: number): Promise<boolean>;
}

/** Who blocks whom; kept across restarts. */
export interface Blocks {
  /** Records that `blocker` blocks `blocked`; resolves with false if it already did. */
  add(blocker: string, blocked: string): Promise<boolean>;
  /** Lifts a block; resolves with false if there was none. */
  remove(blocker: string, blocked: string): Promise<boolean>;
  /** Whether `blocker` blocks `blocked`. */
  isBlocked(blocker: string, blocked: string): Promise<boolean>;
  /** The devices that block `device`. */
  blockersOf(device: string): Promise<Set<string>>;
  /** The devices `device` blocks. */
  blockedBy(device: string): Promise<Set<string>>;
}

/**
 * Visits a device's presence history keeps (the latest); an older one goes when a new one
 * is recorded, so the history of a device that logs in all day stays this size.
 */
export const MAX_PRESENCE_VISITS_KEPT = 100;

/** One stay of a device online: its login and, once it has left, its logout. */
export interface PresenceVisit {
  /** When it logged in (ms epoch); with the device, what names the visit. */
  since: number;
  /** When it left (ms epoch), or `null` while online or when no logout was recorded. */
  until: number | null;
  /** Why it left (a logout reason, as the metrics count them), `null` with `until`. */
  reason: string | null;
  /** The address it logged in from. */
  ip: string;
}

/**
 * When each device was last seen online (for `whoelsesince`) and its recent visits (the
 * device page); kept across restarts.
 */
export interface PresenceHistory {
  /** Records that `device` was online at `at` (ms epoch), replacing an earlier time. */
  markSeen(device: string, at: number): Promise<void>;
  /**
   * Records a visit of `device`: at login with `until` null, again when it left. The two
   * may land in either order (a pool runs them on different connections): a visit with an
   * end is never replaced by one without. Marks the device seen at the visit's latest time
   * (never earlier than it was), and keeps only its latest
   * {@linkcode MAX_PRESENCE_VISITS_KEPT} visits.
   */
  recordVisit(device: string, visit: PresenceVisit): Promise<void>;
  /** The latest `limit` visits of `device`, the latest first. */
  visits(device: string, limit: number): Promise<PresenceVisit[]>;
  /** Devices last seen online at or after `since` (ms epoch), by name. */
  seenSince(since: number): Promise<string[]>;
  /** When `device` was last recorded online (ms epoch), if ever. */
  lastSeen(device: string): Promise<number | undefined>;
}

/** What a store reports as it works, for the metrics; every hook is optional. */
export interface StoreOptions {
  /**
   * Told how long each commit took, from its start until durable, in seconds: in SQLite a
   * group commit (BEGIN to the WAL's fsync), in PostgreSQL one write (sent to committed).
   */
  commitSeconds?: (seconds: number) => void;
}

/** Every repository of one open store. */
export interface Store {
  readonly files: FileRecords;
  readonly lockouts: Lockouts;
  /** Failed logins counted and reserved, over {@linkcode Store.lockouts}' blocks. */
  readonly loginAttempts: LoginAttempts;
  readonly mailbox: Mailbox;
  readonly blocks: Blocks;
  readonly presenceHistory: PresenceHistory;
  /**
   * Makes the changes still waiting durable, then closes the store. Closing twice is
   * harmless; the repositories must not be used after it.
   */
  close(): Promise<void>;
}
