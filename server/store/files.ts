/**
 * {@linkcode FileRecords} over SQLite: the `files` table and the commit journal
 * (`pending_uploads`, `pending_deletes`).
 *
 * @module
 */

import type { Database } from "./database.ts";
import type { GroupCommit } from "./group_commit.ts";
import { checkFilePlot, type FilePlot } from "../../protocol/plot_summary.ts";
import type {
  DeviceFilesSummary,
  FileRecords,
  FileTotals,
  NewFile,
  PendingDelete,
  PendingUpload,
  StoredFile,
} from "./interfaces.ts";

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

interface PendingUploadRow extends FileRow {
  ino: number | null;
  log_offset: number;
}

interface PendingDeleteRow {
  device: string;
  file_id: number;
  samples: number;
  deleted_at: number;
  log_offset: number;
}

/** A record's columns; `plot` is written beside them and read only by `plot()`. */
const FILE_COLUMNS = "device, file_id, samples, sum, min, max, bytes, uploaded_at";

/**
 * File records and the commit journal in one SQLite database (`db`), written through its
 * group commit (`commits`).
 */
export function sqliteFileRecords(db: Database, commits: GroupCommit): FileRecords {
  function putFile(file: NewFile): void {
    // An upsert, not INSERT OR REPLACE: a replaced row must reach the UPDATE trigger that
    // keeps the totals (REPLACE's delete fires no trigger unless recursive_triggers is on).
    db.run(
      `INSERT INTO files (${FILE_COLUMNS}, plot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (device, file_id) DO UPDATE SET samples = excluded.samples,
         sum = excluded.sum, min = excluded.min, max = excluded.max, bytes = excluded.bytes,
         uploaded_at = excluded.uploaded_at, plot = excluded.plot`,
      ...fileValues(file),
      plotText(file),
    );
  }

  function removeFile(device: string, fileID: number): boolean {
    return db.run("DELETE FROM files WHERE device = ? AND file_id = ?", device, fileID) > 0;
  }

  function dropUpload(device: string, fileID: number): void {
    db.run("DELETE FROM pending_uploads WHERE device = ? AND file_id = ?", device, fileID);
  }

  const records: FileRecords = {
    get(device: string, fileID: number): Promise<StoredFile | undefined> {
      return Promise.try(() => {
        const row = db.get<FileRow>(
          `SELECT ${FILE_COLUMNS} FROM files WHERE device = ? AND file_id = ?`,
          device,
          fileID,
        );
        return row && fileFromRow(row);
      });
    },

    // One server's data directory holds every file it has a record of.
    held(): Promise<StoredFile[]> {
      return records.list();
    },

    async holds(device: string, fileID: number): Promise<boolean> {
      return await records.get(device, fileID) !== undefined;
    },

    plot(device: string, fileID: number): Promise<FilePlot | undefined> {
      return Promise.try(() => {
        const row = db.get<{ plot: string | null }>(
          "SELECT plot FROM files WHERE device = ? AND file_id = ?",
          device,
          fileID,
        );
        return row?.plot == null ? undefined : checkFilePlot(JSON.parse(row.plot));
      });
    },

    list(): Promise<StoredFile[]> {
      return Promise.try(() =>
        db.all<FileRow>(`SELECT ${FILE_COLUMNS} FROM files ORDER BY device, file_id`).map(
          fileFromRow,
        )
      );
    },

    ofDevice(device: string, limit: number): Promise<StoredFile[]> {
      return Promise.try(() =>
        db.all<FileRow>(
          `SELECT ${FILE_COLUMNS} FROM files WHERE device = ? ORDER BY file_id LIMIT ?`,
          device,
          limit,
        ).map(fileFromRow)
      );
    },

    // Kept by the triggers of `store_totals` (migrations.ts), read in one row.
    totals(): Promise<FileTotals> {
      return Promise.try(() => {
        const row = db.get<FileTotals>("SELECT files, samples, bytes FROM store_totals")!;
        return { files: row.files, samples: row.samples, bytes: row.bytes };
      });
    },

    summaryOfDevice(device: string): Promise<DeviceFilesSummary> {
      return Promise.try(() => {
        const row = db.get<{ files: number; last: number | null }>(
          "SELECT count(*) AS files, max(uploaded_at) AS last FROM files WHERE device = ?",
          device,
        );
        return { files: row?.files ?? 0, lastUploadAt: row?.last ?? undefined };
      });
    },

    put(file: NewFile): Promise<void> {
      return commits.run(() => putFile(file));
    },

    remove(device: string, fileID: number): Promise<boolean> {
      return commits.run(() => removeFile(device, fileID));
    },

    beginUpload(pending: PendingUpload): Promise<void> {
      return commits.run(() => {
        db.run(
          `INSERT OR REPLACE INTO pending_uploads (${FILE_COLUMNS}, ino, log_offset)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          ...fileValues(pending),
          pending.ino,
          pending.logOffset,
        );
      });
    },

    finishUpload(file: NewFile): Promise<boolean> {
      return commits.run(() => {
        putFile(file);
        dropUpload(file.device, file.fileID);
        return true;
      });
    },

    dropPendingUpload(device: string, fileID: number): Promise<void> {
      return commits.run(() => dropUpload(device, fileID));
    },

    pendingUpload(device: string, fileID: number): Promise<PendingUpload | undefined> {
      return Promise.try(() => {
        const row = db.get<PendingUploadRow>(
          "SELECT * FROM pending_uploads WHERE device = ? AND file_id = ?",
          device,
          fileID,
        );
        return row && pendingUploadFromRow(row);
      });
    },

    pendingUploads(): Promise<PendingUpload[]> {
      return Promise.try(() =>
        db.all<PendingUploadRow>("SELECT * FROM pending_uploads ORDER BY device, file_id")
          .map(pendingUploadFromRow)
      );
    },

    beginDelete(pending: PendingDelete): Promise<boolean> {
      return commits.run(() => {
        const existed = removeFile(pending.device, pending.fileID);
        db.run(
          `INSERT OR REPLACE INTO pending_deletes (device, file_id, samples, deleted_at, log_offset)
           VALUES (?, ?, ?, ?, ?)`,
          pending.device,
          pending.fileID,
          pending.count,
          pending.deletedAt,
          pending.logOffset,
        );
        return existed;
      });
    },

    dropPendingDelete(device: string, fileID: number): Promise<void> {
      return commits.run(() => {
        db.run("DELETE FROM pending_deletes WHERE device = ? AND file_id = ?", device, fileID);
      });
    },

    pendingDelete(device: string, fileID: number): Promise<PendingDelete | undefined> {
      return Promise.try(() => {
        const row = db.get<PendingDeleteRow>(
          "SELECT * FROM pending_deletes WHERE device = ? AND file_id = ?",
          device,
          fileID,
        );
        return row && pendingDeleteFromRow(row);
      });
    },

    pendingDeletes(): Promise<PendingDelete[]> {
      return Promise.try(() =>
        db.all<PendingDeleteRow>("SELECT * FROM pending_deletes ORDER BY device, file_id")
          .map(pendingDeleteFromRow)
      );
    },
  };
  return records;
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

/** A file record as the values of {@linkcode FILE_COLUMNS}, in that order. */
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

function pendingUploadFromRow(row: PendingUploadRow): PendingUpload {
  return { ...fileFromRow(row), ino: row.ino, logOffset: row.log_offset };
}

/** A record's plot summary as stored: JSON, or NULL without one. */
function plotText(file: NewFile): string | null {
  return file.plot ? JSON.stringify(file.plot) : null;
}

function pendingDeleteFromRow(row: PendingDeleteRow): PendingDelete {
  return {
    device: row.device,
    fileID: row.file_id,
    count: row.samples,
    deletedAt: row.deleted_at,
    logOffset: row.log_offset,
  };
}
