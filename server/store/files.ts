/**
 * {@linkcode FileRecords} over SQLite: the `files` table and the commit journal
 * (`pending_uploads`, `pending_deletes`).
 *
 * @module
 */

import type { Database } from "./database.ts";
import type { GroupCommit } from "./group_commit.ts";
import type { FileRecords, PendingDelete, PendingUpload, StoredFile } from "./interfaces.ts";

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

const FILE_COLUMNS = "device, file_id, samples, sum, min, max, bytes, uploaded_at";

/** File records and the commit journal in one SQLite database. */
export class SqliteFileRecords implements FileRecords {
  readonly #db: Database;
  readonly #commits: GroupCommit;

  constructor(db: Database, commits: GroupCommit) {
    this.#db = db;
    this.#commits = commits;
  }

  get(device: string, fileID: number): Promise<StoredFile | undefined> {
    return Promise.try(() => {
      const row = this.#db.get<FileRow>(
        "SELECT * FROM files WHERE device = ? AND file_id = ?",
        device,
        fileID,
      );
      return row && fileFromRow(row);
    });
  }

  list(): Promise<StoredFile[]> {
    return Promise.try(() =>
      this.#db.all<FileRow>("SELECT * FROM files ORDER BY device, file_id").map(fileFromRow)
    );
  }

  put(file: StoredFile): Promise<void> {
    return this.#commits.run(() => this.#put(file));
  }

  remove(device: string, fileID: number): Promise<boolean> {
    return this.#commits.run(() => this.#remove(device, fileID));
  }

  beginUpload(pending: PendingUpload): Promise<void> {
    return this.#commits.run(() => {
      this.#db.run(
        `INSERT OR REPLACE INTO pending_uploads (${FILE_COLUMNS}, ino, log_offset)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ...fileValues(pending),
        pending.ino,
        pending.logOffset,
      );
    });
  }

  finishUpload(file: StoredFile): Promise<void> {
    return this.#commits.run(() => {
      this.#put(file);
      this.#dropPendingUpload(file.device, file.fileID);
    });
  }

  dropPendingUpload(device: string, fileID: number): Promise<void> {
    return this.#commits.run(() => this.#dropPendingUpload(device, fileID));
  }

  pendingUpload(device: string, fileID: number): Promise<PendingUpload | undefined> {
    return Promise.try(() => {
      const row = this.#db.get<PendingUploadRow>(
        "SELECT * FROM pending_uploads WHERE device = ? AND file_id = ?",
        device,
        fileID,
      );
      return row && pendingUploadFromRow(row);
    });
  }

  pendingUploads(): Promise<PendingUpload[]> {
    return Promise.try(() =>
      this.#db.all<PendingUploadRow>("SELECT * FROM pending_uploads ORDER BY device, file_id")
        .map(pendingUploadFromRow)
    );
  }

  beginDelete(pending: PendingDelete): Promise<boolean> {
    return this.#commits.run(() => {
      const existed = this.#remove(pending.device, pending.fileID);
      this.#db.run(
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
  }

  dropPendingDelete(device: string, fileID: number): Promise<void> {
    return this.#commits.run(() => {
      this.#db.run("DELETE FROM pending_deletes WHERE device = ? AND file_id = ?", device, fileID);
    });
  }

  pendingDelete(device: string, fileID: number): Promise<PendingDelete | undefined> {
    return Promise.try(() => {
      const row = this.#db.get<PendingDeleteRow>(
        "SELECT * FROM pending_deletes WHERE device = ? AND file_id = ?",
        device,
        fileID,
      );
      return row && pendingDeleteFromRow(row);
    });
  }

  pendingDeletes(): Promise<PendingDelete[]> {
    return Promise.try(() =>
      this.#db.all<PendingDeleteRow>("SELECT * FROM pending_deletes ORDER BY device, file_id")
        .map(pendingDeleteFromRow)
    );
  }

  #put(file: StoredFile): void {
    this.#db.run(
      `INSERT OR REPLACE INTO files (${FILE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ...fileValues(file),
    );
  }

  #remove(device: string, fileID: number): boolean {
    return this.#db.run("DELETE FROM files WHERE device = ? AND file_id = ?", device, fileID) > 0;
  }

  #dropPendingUpload(device: string, fileID: number): void {
    this.#db.run("DELETE FROM pending_uploads WHERE device = ? AND file_id = ?", device, fileID);
  }
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

function pendingDeleteFromRow(row: PendingDeleteRow): PendingDelete {
  return {
    device: row.device,
    fileID: row.file_id,
    count: row.samples,
    deletedAt: row.deleted_at,
    logOffset: row.log_offset,
  };
}
