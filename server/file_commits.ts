/**
 * The order in which UED and DTE change the data directory while the server runs
 * (SPEC §6), and finishing a change that a failure cut short after its commit point.
 * Start-up recovery (`server/recovery.ts`) settles what a crash left by the same rules,
 * so each of its repairs is right for exactly this order.
 *
 * **The commit journal.** Every upload and delete is journalled in the store
 * (`FileRecords.beginUpload`, `beginDelete`) from just before it touches `uploads/` until
 * its log line is written. An upload's journal row holds the record it will become (less
 * its plot summary), the inode of its temporary file and the size of `upload-log.txt` when
 * it began, so recovery can tell, without reading any data file, whether the rename
 * happened (the final name has that inode) and whether the line was written (it lies after
 * that offset). Only an upload that did reach `uploads/` has its file read, once, to make
 * its plot summary again for the record.
 *
 * | UED step                                   | a crash after it leaves             | recovery                                  |
 * | ------------------------------------------ | ----------------------------------- | ----------------------------------------- |
 * | stream to `<file>.<uuid>.part`, fsync      | a `.part` file                      | `DataDir.prepare` removes it              |
 * | journal row (inode, offset), fsync         | row; old file (or none) in place    | inode differs: drop the row (rolled back) |
 * | **rename into place**, fsync dir: commit   | new file, old record, row           | inode matches: append the line unless it  |
 * | append the `upload-log.txt` line, fsync    | new file and line, old record, row  | is after the offset; write the record (its|
 * | record + drop the row: one txn; reply      | nothing to do                       | plot made from the file) and drop the row |
 *
 * | DTE step                                   | a crash after it leaves             | recovery                                  |
 * | ------------------------------------------ | ----------------------------------- | ----------------------------------------- |
 * | forget the record + journal row, one txn   | file, row: **commit**               | remove the file, append the log line if   |
 * | remove the file, fsync dir                 | row                                 | missing, drop the row                     |
 * | append the `deletion-log.txt` line, fsync  | row                                 |                                           |
 * | drop the row; reply                        | nothing to do                       |                                           |
 *
 * A change that reached its commit point is finished even though the client never heard
 * back; one that did not is undone. Changes to one file are serialised (a lock per file,
 * none across files), so the journal holds at most one change per file.
 *
 * @module
 */

import { KeyedLock } from "../internal/mod.ts";
import { type FilePlot, PlotSummary } from "../protocol/plot_summary.ts";
import { type SampleAggregates, SampleAggregator } from "../protocol/samples.ts";
import { IoError } from "../protocol/errors.ts";
import type { DataDir } from "./data_dir.ts";
import type { Disk } from "./disk.ts";
import { describeIoError } from "./io_error.ts";
import type {
  FileRecords,
  NewFile,
  PendingDelete,
  PendingUpload,
  StoredFile,
} from "./store/interfaces.ts";
import { formatLogLine, TextLog } from "./text_log.ts";

/** Bytes read at a time when recovery makes a file's plot summary again. */
const PLOT_READ_BYTES = 64 * 1024;

/** A finished, fsynced temporary upload file and what it holds. */
export interface UploadCommit extends SampleAggregates {
  device: string;
  fileID: number;
  /** The temporary file, beside its final name in `uploads/`. */
  temp: string;
  /** The file's plot summary, made in the upload's pass; stored with its record. */
  plot: FilePlot;
  /** The temporary file's inode (read from its open handle), `null` where there is none. */
  ino: number | null;
  bytes: number;
  /** The upload's time, in its log line and record. */
  uploadedAt: number;
}

/** A delete to commit. */
export interface DeleteRequest {
  device: string;
  fileID: number;
  /** The delete's time, in its log line. */
  deletedAt: number;
}

/** What {@linkcode FileCommits} works on. */
export interface FileCommitsOptions {
  dataDir: DataDir;
  /** File records and the journal. */
  files: FileRecords;
  disk: Disk;
  /** Receives a `recovery: …` line when a change settles one an earlier failure left. */
  log: (line: string) => void;
}

/** The uploads and deletes of one server's data directory. */
export class FileCommits {
  /** `upload-log.txt`. */
  readonly uploadLog: TextLog;
  /** `deletion-log.txt`. */
  readonly deletionLog: TextLog;
  readonly #dataDir: DataDir;
  readonly #files: FileRecords;
  readonly #disk: Disk;
  readonly #log: (line: string) => void;
  /** Changes in progress, by data file path: one at a time per file. */
  readonly #fileLocks = new KeyedLock();
  /**
   * Data file paths whose journal may hold a row a failed change left; `undefined` until
   * {@linkcode settleJournal} has run (any file's may). The journal is this server's own
   * (on PostgreSQL, each node's rows are its own), so no other writer adds one: a change
   * to any other file reads nothing of the journal first.
   */
  #unsettled: Set<string> | undefined;

  constructor(options: FileCommitsOptions) {
    this.#dataDir = options.dataDir;
    this.#files = options.files;
    this.#disk = options.disk;
    this.#log = options.log;
    this.uploadLog = new TextLog(options.dataDir.uploadLog, options.disk);
    this.deletionLog = new TextLog(options.dataDir.deletionLog, options.disk);
  }

  /**
   * Moves a finished upload into place, records it and logs it, in the journalled order
   * of the module table. Waits for any other change to the same file first.
   *
   * @throws {IoError} with a sentence saying whether the file was stored.
   */
  upload(upload: UploadCommit): Promise<void> {
    const { device, fileID } = upload;
    const path = this.#dataDir.uploadPath(device, fileID);
    return this.#fileLocks.run(path, async () => {
      await this.#settleLeftovers(device, fileID, path);
      const fields: StoredFile = {
        device,
        fileID,
        count: upload.count,
        sum: upload.sum,
        min: upload.min,
        max: upload.max,
        bytes: upload.bytes,
        uploadedAt: upload.uploadedAt,
      };
      const record: NewFile = { ...fields, plot: upload.plot };
      try {
        const logOffset = this.uploadLog.size();
        await this.#files.beginUpload({ ...fields, ino: upload.ino, logOffset });
        await this.#disk.run(() => Deno.rename(upload.temp, path));
      } catch (error) {
        this.#unsettled?.add(path);
        await this.#disk.run(() => Deno.remove(upload.temp)).catch(() => {});
        // Left behind, the row is rolled back later: the final name lacks its inode.
        await bestEffort(this.#files.dropPendingUpload(device, fileID));
        throw new IoError(`the server could not store file ${fileID}: ${describeIoError(error)}`, {
          cause: error,
        });
      }
      // Committed: from here on, recovery finishes whatever is cut short.
      try {
        await this.#disk.syncDirectory(path);
        await this.uploadLog.append(formatLogLine(device, upload.uploadedAt, fileID, upload.count));
        await this.#files.finishUpload(record);
      } catch (error) {
        // Let SCS answer for the file now in place; the journal row stays for recovery.
        this.#unsettled?.add(path);
        await bestEffort(this.#files.put(record));
        throw new IoError(`file ${fileID} is stored, but ${unfinished(error)}`, {
          cause: error,
        });
      }
    });
  }

  /**
   * Deletes a device's file in the journalled order of the module table. Waits for any
   * other change to the same file first.
   *
   * @returns the record of the deleted file, or `undefined` when there was none.
   * @throws {IoError} with a sentence saying whether the file was deleted.
   */
  delete(request: DeleteRequest): Promise<StoredFile | undefined> {
    const { device, fileID, deletedAt } = request;
    const path = this.#dataDir.uploadPath(device, fileID);
    return this.#fileLocks.run(path, async () => {
      await this.#settleLeftovers(device, fileID, path);
      const file = await this.#files.get(device, fileID);
      if (!file) return undefined;
      let pending: PendingDelete;
      try {
        const logOffset = this.deletionLog.size();
        pending = { device, fileID, count: file.count, deletedAt, logOffset };
        await this.#files.beginDelete(pending);
      } catch (error) {
        this.#unsettled?.add(path);
        throw new IoError(`the server could not delete file ${fileID}: ${describeIoError(error)}`, {
          cause: error,
        });
      }
      // Committed: the record is gone; recovery finishes the rest if cut short.
      try {
        await this.#finishDelete(pending);
        await this.#files.dropPendingDelete(device, fileID);
      } catch (error) {
        this.#unsettled?.add(path);
        throw new IoError(`file ${fileID} is deleted, but ${unfinished(error)}`, {
          cause: error,
        });
      }
      return file;
    });
  }

  /**
   * Removes this server's copy of `device`'s file `fileID` when no record names this
   * server as holding it any more: the file was deleted through another node of the
   * network, or uploaded again through another (SPEC §9; the job that node left,
   * `server/cluster/node_jobs.ts`). Logs nothing in `deletion-log.txt`: the node the DTE
   * went through logged it. Waits for any other change to the same file first, so an
   * upload through this server in the meantime is kept.
   *
   * @returns whether a file was removed.
   * @throws {IoError} when the file cannot be removed.
   */
  dropCopy(device: string, fileID: number): Promise<boolean> {
    const path = this.#dataDir.uploadPath(device, fileID);
    return this.#fileLocks.run(path, async () => {
      await this.#settleLeftovers(device, fileID, path);
      try {
        if (await this.#files.holds(device, fileID)) return false;
        await this.#disk.run(() => Deno.remove(path));
        await this.#disk.syncDirectory(path);
        return true;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return false;
        throw new IoError(
          `the server could not remove its copy of file ${fileID}: ${describeIoError(error)}`,
          { cause: error },
        );
      }
    });
  }

  /**
   * Settles every journalled change (at start, before anyone is served): finishes those
   * that reached their commit point, rolls back the others.
   *
   * @returns one sentence per change settled.
   */
  async settleJournal(): Promise<string[]> {
    // From here on a failed change is remembered; what failed before is in the rows read.
    this.#unsettled = new Set();
    try {
      const repairs: string[] = [];
      for (const pending of await this.#files.pendingUploads()) {
        repairs.push(await this.#settleUpload(pending));
      }
      for (const pending of await this.#files.pendingDeletes()) {
        repairs.push(await this.#settleDelete(pending));
      }
      return repairs;
    } catch (error) {
      this.#unsettled = undefined;
      throw error;
    }
  }

  /**
   * Settles a file's journal rows left by a change that failed after its commit point.
   * Reads the journal only for a file a failed change left rows for, once the journal
   * was settled at start (else for every file).
   */
  async #settleLeftovers(device: string, fileID: number, path: string): Promise<void> {
    if (this.#unsettled && !this.#unsettled.has(path)) return;
    try {
      const upload = await this.#files.pendingUpload(device, fileID);
      if (upload) this.#log(`recovery: ${await this.#settleUpload(upload)}`);
      const del = await this.#files.pendingDelete(device, fileID);
      if (del) this.#log(`recovery: ${await this.#settleDelete(del)}`);
      this.#unsettled?.delete(path);
    } catch (error) {
      throw new IoError(
        `the server could not finish an earlier change to file ${fileID}: ${
          describeIoError(error)
        }`,
        { cause: error },
      );
    }
  }

  async #settleUpload(pending: PendingUpload): Promise<string> {
    const { device, fileID } = pending;
    const path = this.#dataDir.uploadPath(device, fileID);
    const info = await this.#disk.stat(path);
    const renamed = info !== undefined && (
      pending.ino !== null && info.ino !== null
        ? info.ino === pending.ino
        : info.size === pending.bytes
    );
    if (!renamed) {
      await this.#files.dropPendingUpload(device, fileID);
      return `rolled back the unfinished upload of ${device}'s file ${fileID}: it never reached uploads/`;
    }
    await this.#disk.syncDirectory(path);
    const { ino: _ino, logOffset, ...fields } = pending;
    const line = formatLogLine(device, pending.uploadedAt, fileID, pending.count);
    const appended = !(await this.uploadLog.hasLineAfter(line, logOffset));
    if (appended) await this.uploadLog.append(line);
    const record = { ...fields, plot: await this.#plotOf(path) };
    if (!await this.#files.finishUpload(record)) {
      // Uploaded again through another node since: its record stays, this copy goes.
      await this.#disk.run(() => Deno.remove(path));
      await this.#disk.syncDirectory(path);
      return `dropped the upload of ${device}'s file ${fileID}, which was in place before the ` +
        "crash: the file was uploaded again through another node since, whose record is kept; " +
        `removed the copy here${appended ? " (upload-log.txt line appended)" : ""}`;
    }
    return `finished the upload of ${device}'s file ${fileID}, which was in place before the crash: ` +
      `record written${appended ? ", upload-log.txt line appended" : ""}`;
  }

  /**
   * The plot summary of the data file at `path`, made again from its samples (the journal
   * does not keep it). The file passed every check before it was renamed into place.
   */
  async #plotOf(path: string): Promise<FilePlot> {
    const plot = new PlotSummary();
    const aggregator = new SampleAggregator(plot);
    await this.#disk.run(async () => {
      using file = await Deno.open(path);
      const buffer = new Uint8Array(PLOT_READ_BYTES);
      for (let n; (n = await file.read(buffer)) !== null;) aggregator.push(buffer.subarray(0, n));
    });
    aggregator.finish();
    return plot.finish();
  }

  async #settleDelete(pending: PendingDelete): Promise<string> {
    const { removed, appended } = await this.#finishDelete(pending);
    await this.#files.dropPendingDelete(pending.device, pending.fileID);
    return `finished the delete of ${pending.device}'s file ${pending.fileID}: ` +
      `${removed ? "file removed" : "file already gone"}` +
      `${appended ? ", deletion-log.txt line appended" : ""}`;
  }

  /** The steps of a delete after its commit point; each is skipped if already done. */
  async #finishDelete(pending: PendingDelete): Promise<{ removed: boolean; appended: boolean }> {
    const path = this.#dataDir.uploadPath(pending.device, pending.fileID);
    let removed = true;
    try {
      await this.#disk.run(() => Deno.remove(path));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      removed = false;
    }
    await this.#disk.syncDirectory(path);
    const line = formatLogLine(pending.device, pending.deletedAt, pending.fileID, pending.count);
    const appended = !(await this.deletionLog.hasLineAfter(line, pending.logOffset));
    if (appended) await this.deletionLog.append(line);
    return { removed, appended };
  }
}

/** The end of an `io` message for a change that failed after its commit point. */
function unfinished(error: unknown): string {
  return `the server could not finish recording it (${describeIoError(error)}); ` +
    "it finishes the next time the file is used or the server starts";
}

/** Store work whose failure the journal makes up for. */
async function bestEffort(change: Promise<void>): Promise<void> {
  try {
    await change;
  } catch {
    // The journal row stays; the next change to the file or the next start settles it.
  }
}
