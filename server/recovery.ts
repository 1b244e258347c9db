/**
 * Crash safety of the data directory (SPEC §6): the order in which UED and DTE change
 * it, and the start-up recovery that finishes or undoes whatever a crash cut short.
 * Both halves live here because each recovery rule is only right for one write order.
 *
 * **The commit journal.** Every upload and delete is journalled in the store
 * (`pending_uploads`, `pending_deletes`) from just before it touches `uploads/` until its
 * log line is written. An upload's journal row holds the record it will become, the inode
 * of its temporary file and the size of `upload-log.txt` when it began, so recovery can
 * tell, without reading any data file, whether the rename happened (the final name has
 * that inode) and whether the line was written (it lies after that offset).
 *
 * | UED step                                   | a crash after it leaves             | recovery                                  |
 * | ------------------------------------------ | ----------------------------------- | ----------------------------------------- |
 * | stream to `<file>.<uuid>.part`, fsync      | a `.part` file                      | `DataDir.prepare` removes it              |
 * | journal row (inode, offset), fsync         | row; old file (or none) in place    | inode differs: drop the row (rolled back) |
 * | **rename into place**, fsync dir: commit   | new file, old record, row           | inode matches: append the line unless it  |
 * | append the `upload-log.txt` line, fsync    | new file and line, old record, row  | is after the offset; write the record and |
 * | record + drop the row: one txn; reply      | nothing to do                       | drop the row in one transaction           |
 *
 * | DTE step                                   | a crash after it leaves             | recovery                                  |
 * | ------------------------------------------ | ----------------------------------- | ----------------------------------------- |
 * | forget the record + journal row, one txn   | file, row: **commit**               | remove the file, append the log line if   |
 * | remove the file, fsync dir                 | row                                 | missing, drop the row                     |
 * | append the `deletion-log.txt` line, fsync  | row                                 |                                           |
 * | drop the row; reply                        | nothing to do                       |                                           |
 *
 * A change that reached its commit point is finished by recovery even though the client
 * never heard back; one that did not is undone. Operations on one file are serialised
 * (a lock per file, none across files), so the journal holds at most one change per file.
 *
 * **Start-up checks** beyond the journal, for damage the journal cannot explain (a data
 * directory from an iotnet without the journal, or edited by hand): a torn last line of a
 * text log is cut off; a record whose file is missing is forgotten; a file whose size
 * differs from its record is moved aside as `.damaged`; an `uploads/<name>-<id>.txt` with
 * no record was never acknowledged and is removed; a record with no matching
 * `upload-log.txt` line gets one, with the record's own timestamp.
 *
 * @module
 */

import { basename, join } from "node:path";
import { IoError } from "../protocol/errors.ts";
import { deviceNameProblem, MAX_FILE_ID } from "../protocol/limits.ts";
import type { SampleAggregates } from "../protocol/samples.ts";
import type { ServerContext } from "./context.ts";
import { type DataDir, statOrUndefined, syncDirectory } from "./data_dir.ts";
import {
  type PendingDelete,
  type PendingUpload,
  type Store,
  type StoredFile,
  StoreError,
} from "./store.ts";
import { onDisk } from "./disk.ts";
import { withLock } from "./keyed_lock.ts";
import {
  appendLogLine,
  cutTornLine,
  formatLogLine,
  logHasLineAfter,
  type LogLine,
  logSize,
  parseLogLine,
  readLines,
} from "./text_log.ts";

/** What the commit protocol works on: a narrow view of the server. */
export type CommitTarget = Pick<ServerContext, "dataDir" | "store" | "log">;

/** A finished, fsynced temporary upload file and what it holds. */
export interface UploadCommit extends SampleAggregates {
  device: string;
  fileID: number;
  /** The temporary file, beside its final name in `uploads/`. */
  temp: string;
  /** The temporary file's inode (read from its open handle), `null` where there is none. */
  ino: number | null;
  bytes: number;
  /** The upload's time, in its log line and record. */
  uploadedAt: number;
}

/** The data directory could not be made consistent; the server must not start. */
export class RecoveryError extends StoreError {
  override name = "RecoveryError";
}

/**
 * Moves a finished upload into place, records it and logs it, in the journalled order of
 * the module table. Waits for any other change to the same file first.
 *
 * @throws {IoError} with a sentence saying whether the file was stored.
 */
export function commitUpload(target: CommitTarget, upload: UploadCommit): Promise<void> {
  const { dataDir, store } = target;
  const { device, fileID } = upload;
  const path = dataDir.uploadPath(device, fileID);
  return withLock(FILE_LOCKS, path, async () => {
    await settleLeftovers(target, device, fileID);
    const record: StoredFile = {
      device,
      fileID,
      count: upload.count,
      sum: upload.sum,
      min: upload.min,
      max: upload.max,
      bytes: upload.bytes,
      uploadedAt: upload.uploadedAt,
    };
    try {
      const logOffset = logSize(dataDir.uploadLog);
      await store.beginUpload({ ...record, ino: upload.ino, logOffset });
      await onDisk(() => Deno.rename(upload.temp, path));
    } catch (error) {
      await onDisk(() => Deno.remove(upload.temp)).catch(() => {});
      // Left behind, the row is rolled back later: the final name lacks its inode.
      await bestEffort(store.dropPendingUpload(device, fileID));
      throw new IoError(`the server could not store file ${fileID}: ${describeIoError(error)}`, {
        cause: error,
      });
    }
    // Committed: from here on, recovery finishes whatever is cut short.
    try {
      await syncDirectory(path);
      const line = formatLogLine(device, upload.uploadedAt, fileID, upload.count);
      await appendLogLine(dataDir.uploadLog, line);
      await store.finishUpload(record);
    } catch (error) {
      // Let SCS answer for the file now in place; the journal row stays for recovery.
      await bestEffort(store.putFile(record));
      throw new IoError(`file ${fileID} is stored, but ${unfinished(error)}`, {
        cause: error,
      });
    }
  });
}

/** The end of an `io` message for a change that failed after its commit point. */
function unfinished(error: unknown): string {
  return `the server could not finish recording it (${describeIoError(error)}); ` +
    "it finishes the next time the file is used or the server starts";
}

/**
 * Deletes a device's file in the journalled order of the module table. Waits for any
 * other change to the same file first.
 *
 * @returns the record of the deleted file, or `undefined` when there was none.
 * @throws {IoError} with a sentence saying whether the file was deleted.
 */
export function commitDelete(
  target: CommitTarget,
  request: { device: string; fileID: number; deletedAt: number },
): Promise<StoredFile | undefined> {
  const { dataDir, store } = target;
  const { device, fileID, deletedAt } = request;
  const path = dataDir.uploadPath(device, fileID);
  return withLock(FILE_LOCKS, path, async () => {
    await settleLeftovers(target, device, fileID);
    const file = store.getFile(device, fileID);
    if (!file) return undefined;
    let pending: PendingDelete;
    try {
      pending = {
        device,
        fileID,
        count: file.count,
        deletedAt,
        logOffset: logSize(dataDir.deletionLog),
      };
      await store.beginDelete(pending);
    } catch (error) {
      throw new IoError(`the server could not delete file ${fileID}: ${describeIoError(error)}`, {
        cause: error,
      });
    }
    // Committed: the record is gone; recovery finishes the rest if cut short.
    try {
      await finishDelete(dataDir, pending);
      await store.dropPendingDelete(device, fileID);
    } catch (error) {
      throw new IoError(`file ${fileID} is deleted, but ${unfinished(error)}`, {
        cause: error,
      });
    }
    return file;
  });
}

/**
 * Brings a data directory back to a consistent state after a crash, before the server
 * serves anyone. Runs after `DataDir.prepare` (which removed the `.part` files) with the
 * store open. Idempotent: a second run finds nothing to do.
 *
 * @returns one sentence per repair, for the server log; empty when all was in order.
 * @throws {RecoveryError} when a repair fails (the server must not start).
 */
export async function recoverDataDir(dataDir: DataDir, store: Store): Promise<string[]> {
  try {
    return await recover(dataDir, store);
  } catch (error) {
    throw new RecoveryError(
      `cannot recover the data directory ${dataDir.root}: ${describeIoError(error)}`,
      { cause: error },
    );
  }
}

async function recover(dataDir: DataDir, store: Store): Promise<string[]> {
  const repairs: string[] = [];
  for (const log of [dataDir.uploadLog, dataDir.deletionLog]) {
    const repair = await cutTornLine(log);
    if (repair) repairs.push(repair);
  }
  const target: CommitTarget = { dataDir, store, log: () => {} };
  for (const pending of store.pendingUploads()) repairs.push(await settleUpload(target, pending));
  for (const pending of store.pendingDeletes()) repairs.push(await settleDelete(target, pending));

  const live: StoredFile[] = [];
  const recorded = new Set<string>();
  for (const file of store.listFiles()) {
    const path = dataDir.uploadPath(file.device, file.fileID);
    const shown = `uploads/${basename(path)}`;
    const info = await statOrUndefined(path);
    if (!info) {
      await store.deleteFile(file.device, file.fileID);
      repairs.push(`forgot ${file.device}'s file ${file.fileID}: ${shown} is missing`);
    } else if (!info.isFile || info.size !== file.bytes) {
      await Deno.rename(path, `${path}.damaged`);
      recorded.add(`${basename(path)}.damaged`);
      await store.deleteFile(file.device, file.fileID);
      repairs.push(
        `moved ${shown} aside to ${shown}.damaged and forgot it: it has ${info.size} bytes ` +
          `where its record says ${file.bytes}`,
      );
    } else {
      recorded.add(basename(path));
      live.push(file);
    }
  }

  let removed = false;
  const entries = await Array.fromAsync(Deno.readDir(dataDir.uploads));
  for (const entry of entries.sort((a, b) => a.name < b.name ? -1 : 1)) {
    if (recorded.has(entry.name)) continue;
    if (!entry.isFile || !parseUploadName(entry.name)) {
      repairs.push(`left uploads/${entry.name} alone: it is not a name iotnet writes`);
      continue;
    }
    await Deno.remove(join(dataDir.uploads, entry.name));
    removed = true;
    repairs.push(
      `removed uploads/${entry.name}: it has no record, so its upload was never acknowledged`,
    );
  }
  // syncDirectory syncs the folder holding the path it is given.
  if (removed) await syncDirectory(join(dataDir.uploads, "any"));

  repairs.push(...await addMissingUploadLines(dataDir.uploadLog, live));
  return repairs;
}

// ---------------------------------------------------------------------------------------
// Settling journal rows: shared by recovery and by the next change to the same file.

/** Settles a file's journal rows left by a change that failed after its commit point. */
async function settleLeftovers(target: CommitTarget, device: string, fileID: number) {
  const { store, log } = target;
  try {
    const upload = store.pendingUpload(device, fileID);
    if (upload) log(`recovery: ${await settleUpload(target, upload)}`);
    const del = store.pendingDelete(device, fileID);
    if (del) log(`recovery: ${await settleDelete(target, del)}`);
  } catch (error) {
    throw new IoError(
      `the server could not finish an earlier change to file ${fileID}: ${describeIoError(error)}`,
      { cause: error },
    );
  }
}

async function settleUpload(target: CommitTarget, pending: PendingUpload): Promise<string> {
  const { dataDir, store } = target;
  const { device, fileID } = pending;
  const path = dataDir.uploadPath(device, fileID);
  const info = await statOrUndefined(path);
  const renamed = info !== undefined && (
    pending.ino !== null && info.ino !== null
      ? info.ino === pending.ino
      : info.size === pending.bytes
  );
  if (!renamed) {
    await store.dropPendingUpload(device, fileID);
    return `rolled back the unfinished upload of ${device}'s file ${fileID}: it never reached uploads/`;
  }
  await syncDirectory(path);
  const { ino: _ino, logOffset, ...record } = pending;
  const line = formatLogLine(device, pending.uploadedAt, fileID, pending.count);
  const appended = !(await logHasLineAfter(dataDir.uploadLog, line, logOffset));
  if (appended) await appendLogLine(dataDir.uploadLog, line);
  await store.finishUpload(record);
  return `finished the upload of ${device}'s file ${fileID}, which was in place before the crash: ` +
    `record written${appended ? ", upload-log.txt line appended" : ""}`;
}

async function settleDelete(target: CommitTarget, pending: PendingDelete): Promise<string> {
  const { dataDir, store } = target;
  const { removed, appended } = await finishDelete(dataDir, pending);
  await store.dropPendingDelete(pending.device, pending.fileID);
  return `finished the delete of ${pending.device}'s file ${pending.fileID}: ` +
    `${removed ? "file removed" : "file already gone"}` +
    `${appended ? ", deletion-log.txt line appended" : ""}`;
}

/** The steps of a delete after its commit point; each is skipped if already done. */
async function finishDelete(
  dataDir: DataDir,
  pending: PendingDelete,
): Promise<{ removed: boolean; appended: boolean }> {
  const path = dataDir.uploadPath(pending.device, pending.fileID);
  let removed = true;
  try {
    await onDisk(() => Deno.remove(path));
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    removed = false;
  }
  await syncDirectory(path);
  const line = formatLogLine(pending.device, pending.deletedAt, pending.fileID, pending.count);
  const appended = !(await logHasLineAfter(dataDir.deletionLog, line, pending.logOffset));
  if (appended) await appendLogLine(dataDir.deletionLog, line);
  return { removed, appended };
}

/** Store work whose failure the journal makes up for. */
async function bestEffort(change: Promise<void>): Promise<void> {
  try {
    await change;
  } catch {
    // The journal row stays; the next change to the file or the next start settles it.
  }
}

/** Longest a log's timestamp may differ from its record's and still be its line. */
const SAME_UPLOAD_MS = 24 * 60 * 60 * 1000;

/**
 * Appends an `upload-log.txt` line for each record whose latest line is not its own.
 * A line is the record's when it has the same dataAmount and a timestamp within a day
 * (the log is in local time: a changed time zone must not look like a missing line).
 */
async function addMissingUploadLines(path: string, live: StoredFile[]): Promise<string[]> {
  if (live.length === 0) return [];
  const key = (device: string, fileID: number) => `${device}/${fileID}`;
  const records = new Map(live.map((f) => [key(f.device, f.fileID), f]));
  const latest = new Map<string, LogLine>();
  for await (const text of readLines(path)) {
    const line = parseLogLine(text);
    if (!line) continue;
    const k = key(line.device, line.fileID);
    if (records.has(k)) latest.set(k, line);
  }
  const repairs: string[] = [];
  const missing = live.filter((f) => {
    const line = latest.get(key(f.device, f.fileID));
    return !line || line.dataAmount !== f.count ||
      Math.abs(line.at - f.uploadedAt) > SAME_UPLOAD_MS;
  }).sort((a, b) => a.uploadedAt - b.uploadedAt);
  for (const f of missing) {
    const line = formatLogLine(f.device, f.uploadedAt, f.fileID, f.count);
    await appendLogLine(path, line);
    repairs.push(
      `appended the missing upload-log.txt line of ${f.device}'s file ${f.fileID}: ${line}`,
    );
  }
  return repairs;
}

// ---------------------------------------------------------------------------------------
// Small helpers.

/** `<name>-<fileID>.txt` as `DataDir.uploadPath` writes it, or `undefined`. */
function parseUploadName(name: string): { device: string; fileID: number } | undefined {
  const m = /^(.+)-(0|[1-9]\d{0,9})\.txt$/.exec(name);
  if (!m) return undefined;
  const fileID = Number(m[2]);
  if (deviceNameProblem(m[1]!) || fileID > MAX_FILE_ID) return undefined;
  return { device: m[1]!, fileID };
}

/** An I/O error as a short phrase; a full disk is named as such. */
export function describeIoError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "ENOSPC" || code === "EDQUOT" || /no space left|quota exceeded/i.test(message)) {
    return `the disk is full (${message})`;
  }
  return message;
}

/** UED and DTE in progress, by data file path. */
const FILE_LOCKS = new Map<string, Promise<void>>();
