/**
 * {@linkcode FileRecords} over PostgreSQL: the `files` table, shared by every node, and the
 * commit journal (`pending_uploads`, `pending_deletes`), each node's own rows.
 *
 * A record names the node whose data directory holds the file (`files.node`). A change that
 * takes a file's record away from a node (a delete through another node, or the file
 * uploaded again through another) queues, in the same transaction, a `remove_file` job for
 * that node (`node_jobs.ts`), which removes its copy at once or when it is back.
 *
 * Each upload takes a version from the sequence `file_versions` when it is journalled
 * (`beginUpload`; a record written without a journal row takes a new one), and a record
 * is only replaced by a newer version: a node that crashed between its rename and its
 * record, and finishes that upload at restart, leaves alone the record of the same file
 * uploaded again through another node meanwhile.
 *
 * @module
 */

import type { Sql } from "postgres";
import type { Transact } from "./transactions.ts";
import { encodeNodeJob } from "../../cluster/node_job.ts";
import { checkFilePlot, type FilePlot } from "../../../protocol/plot_summary.ts";
import type {
  DeviceFilesSummary,
  FileRecords,
  FileTotals,
  NewFile,
  PendingDelete,
  PendingUpload,
  StoredFile,
} from "../interfaces.ts";
import { NODE_JOBS_CHANNEL } from "./node_jobs.ts";

/** A row of `files` as postgres.js returns it: int8 and numeric as strings. */
interface FileRow {
  device: string;
  file_id: string;
  samples: string;
  sum: string;
  min: string;
  max: string;
  bytes: string;
  uploaded_at: string;
}

interface PendingUploadRow extends FileRow {
  ino: string | null;
  log_offset: string;
}

interface PendingDeleteRow {
  device: string;
  file_id: string;
  samples: string;
  deleted_at: string;
  log_offset: string;
}

const FILE_COLUMNS = "device, file_id, samples, sum, min, max, bytes, uploaded_at";

/**
 * For the statements sent as text (`sql.unsafe`): prepare them once per connection, as
 * postgres.js does for tagged ones. Unprepared, each run waits a round trip to learn its
 * parameters' types before it can send them: an upload's two statements took four round
 * trips (`deno task bench cluster` profiles).
 */
const PREPARED = { prepare: true } as const;

/**
 * File records in the database behind `sql` (a delete's two statements as one `transact`),
 * and the journal of node `node` (whose data directory holds the files it journals and
 * records).
 */
export function postgresFileRecords(sql: Sql, transact: Transact, node: string): FileRecords {
  /** The `remove_file` job for the node that held `device`'s file `fileID` until now. */
  function removalPayload(device: string, fileID: number, reason: "deleted" | "replaced") {
    return encodeNodeJob({ kind: "remove_file", device, fileID, reason, by: node }).payload;
  }

  /**
   * Records a file held by this node, in one statement (one round trip, one commit),
   * unless the record holds a newer version; when the record it replaces named another
   * node, that node is given a job to remove its copy, and woken on commit. The record
   * takes the version of this node's journal row of the upload, if any, else a new one.
   *
   * @param finish also drop that journal row, in the same statement: whether or not the
   *   record was written, the upload is finished.
   * @returns whether the record was written.
   */
  async function putFile(file: NewFile, finish: boolean): Promise<boolean> {
    const [{ written }] = await sql.unsafe<[{ written: number }]>(
      `WITH previous AS (
         -- The statement's snapshot: the record as it was, whatever upsert does to it.
         SELECT node FROM files WHERE device = $1 AND file_id = $2
       ), journalled AS (
         -- Also the snapshot's: the version taken when the upload was journalled.
         ${finish ? "DELETE FROM" : "SELECT version FROM"} pending_uploads
         WHERE node = $9 AND device = $1 AND file_id = $2${finish ? " RETURNING version" : ""}
       ), upsert AS (
         INSERT INTO files (${FILE_COLUMNS}, node, plot, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, COALESCE(
           (SELECT version FROM journalled), nextval('file_versions')))
         ON CONFLICT (device, file_id) DO UPDATE SET
           samples = excluded.samples, sum = excluded.sum, min = excluded.min,
           max = excluded.max, bytes = excluded.bytes, uploaded_at = excluded.uploaded_at,
           node = excluded.node, plot = excluded.plot, version = excluded.version
         WHERE files.version < excluded.version
         RETURNING 1
       ), job AS (
         INSERT INTO node_jobs (node, kind, payload)
         SELECT node, 'remove_file', $11 FROM previous
         WHERE node <> $9 AND EXISTS (SELECT 1 FROM upsert)
         RETURNING node
       ), notified AS (
         SELECT pg_notify('${NODE_JOBS_CHANNEL}', node) FROM job
       )
       SELECT (SELECT count(*) FROM upsert)::int AS written,
              (SELECT count(*) FROM notified)::int AS notified`,
      [
        ...fileValues(file),
        node,
        plotText(file),
        removalPayload(file.device, file.fileID, "replaced"),
      ],
      PREPARED,
    );
    return written > 0;
  }

  return {
    // An aggregate over the table, run by the database: it scans the records, but off this
    // node's event loop (docs/DECISIONS.md, "The overview's store totals").
    async totals(): Promise<FileTotals> {
      const [row] = await sql<{ files: string; samples: string; bytes: string }[]>`
        SELECT count(*) AS files, coalesce(sum(samples), 0) AS samples,
               coalesce(sum(bytes), 0) AS bytes
          FROM files`;
      return {
        files: Number(row!.files),
        samples: Number(row!.samples),
        bytes: Number(row!.bytes),
      };
    },

    async get(device: string, fileID: number): Promise<StoredFile | undefined> {
      const [row] = await sql<FileRow[]>`
        SELECT ${
        sql.unsafe(FILE_COLUMNS)
      } FROM files WHERE device = ${device} AND file_id = ${fileID}`;
      return row && fileFromRow(row);
    },

    async plot(device: string, fileID: number): Promise<FilePlot | undefined> {
      const [row] = await sql<{ plot: string | null }[]>`
        SELECT plot FROM files WHERE device = ${device} AND file_id = ${fileID}`;
      return row?.plot == null ? undefined : checkFilePlot(JSON.parse(row.plot));
    },

    async list(): Promise<StoredFile[]> {
      const rows = await sql<FileRow[]>`
        SELECT ${sql.unsafe(FILE_COLUMNS)} FROM files ORDER BY device COLLATE "C", file_id`;
      return rows.map(fileFromRow);
    },

    async held(): Promise<StoredFile[]> {
      const rows = await sql<FileRow[]>`
        SELECT ${sql.unsafe(FILE_COLUMNS)} FROM files WHERE node = ${node}
        ORDER BY device COLLATE "C", file_id`;
      return rows.map(fileFromRow);
    },

    async holds(device: string, fileID: number): Promise<boolean> {
      const rows = await sql`
        SELECT 1 FROM files WHERE device = ${device} AND file_id = ${fileID} AND node = ${node}`;
      return rows.length > 0;
    },

    async ofDevice(device: string, limit: number): Promise<StoredFile[]> {
      const rows = await sql<FileRow[]>`
        SELECT ${sql.unsafe(FILE_COLUMNS)} FROM files WHERE device = ${device}
        ORDER BY file_id LIMIT ${limit}`;
      return rows.map(fileFromRow);
    },

    async summaryOfDevice(device: string): Promise<DeviceFilesSummary> {
      const [row] = await sql<{ files: string; last: string | null }[]>`
        SELECT count(*) AS files, max(uploaded_at) AS last FROM files WHERE device = ${device}`;
      return {
        files: Number(row?.files ?? 0),
        lastUploadAt: row?.last == null ? undefined : Number(row.last),
      };
    },

    async put(file: NewFile): Promise<void> {
      await putFile(file, false);
    },

    async remove(device: string, fileID: number): Promise<boolean> {
      const result = await sql`DELETE FROM files WHERE device = ${device} AND file_id = ${fileID}`;
      return result.count > 0;
    },

    async beginUpload(pending: PendingUpload): Promise<void> {
      await sql.unsafe(
        `INSERT INTO pending_uploads (node, ${FILE_COLUMNS}, ino, log_offset, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, nextval('file_versions'))
         ON CONFLICT (node, device, file_id) DO UPDATE SET
           samples = excluded.samples, sum = excluded.sum, min = excluded.min,
           max = excluded.max, bytes = excluded.bytes, uploaded_at = excluded.uploaded_at,
           ino = excluded.ino, log_offset = excluded.log_offset, version = excluded.version`,
        [node, ...fileValues(pending), pending.ino, pending.logOffset],
        PREPARED,
      );
    },

    finishUpload(file: NewFile): Promise<boolean> {
      return putFile(file, true);
    },

    async dropPendingUpload(device: string, fileID: number): Promise<void> {
      await sql`DELETE FROM pending_uploads
                WHERE node = ${node} AND device = ${device} AND file_id = ${fileID}`;
    },

    async pendingUpload(device: string, fileID: number): Promise<PendingUpload | undefined> {
      const [row] = await sql<PendingUploadRow[]>`
        SELECT ${sql.unsafe(FILE_COLUMNS)}, ino, log_offset FROM pending_uploads
        WHERE node = ${node} AND device = ${device} AND file_id = ${fileID}`;
      return row && pendingUploadFromRow(row);
    },

    async pendingUploads(): Promise<PendingUpload[]> {
      const rows = await sql<PendingUploadRow[]>`
        SELECT ${sql.unsafe(FILE_COLUMNS)}, ino, log_offset FROM pending_uploads
        WHERE node = ${node} ORDER BY device COLLATE "C", file_id`;
      return rows.map(pendingUploadFromRow);
    },

    async beginDelete(pending: PendingDelete): Promise<boolean> {
      return await transact(async (tx) => {
        // The node holding the file (when not this one) is given a job to remove it.
        const [{ removed }] = await tx<[{ removed: number }]>`
          WITH removed AS (
            DELETE FROM files WHERE device = ${pending.device} AND file_id = ${pending.fileID}
            RETURNING node
          ), job AS (
            INSERT INTO node_jobs (node, kind, payload)
            SELECT node, 'remove_file',
                   ${removalPayload(pending.device, pending.fileID, "deleted")}
            FROM removed WHERE node <> ${node}
            RETURNING node
          ), notified AS (
            SELECT pg_notify(${NODE_JOBS_CHANNEL}, node) FROM job
          )
          SELECT (SELECT count(*) FROM removed)::int AS removed,
                 (SELECT count(*) FROM notified)::int AS notified`;
        await tx`
          INSERT INTO pending_deletes (node, device, file_id, samples, deleted_at, log_offset)
          VALUES (${node}, ${pending.device}, ${pending.fileID}, ${pending.count},
                  ${pending.deletedAt}, ${pending.logOffset})
          ON CONFLICT (node, device, file_id) DO UPDATE SET
            samples = excluded.samples, deleted_at = excluded.deleted_at,
            log_offset = excluded.log_offset`;
        return removed > 0;
      });
    },

    async dropPendingDelete(device: string, fileID: number): Promise<void> {
      await sql`DELETE FROM pending_deletes
                WHERE node = ${node} AND device = ${device} AND file_id = ${fileID}`;
    },

    async pendingDelete(device: string, fileID: number): Promise<PendingDelete | undefined> {
      const [row] = await sql<PendingDeleteRow[]>`
        SELECT device, file_id, samples, deleted_at, log_offset FROM pending_deletes
        WHERE node = ${node} AND device = ${device} AND file_id = ${fileID}`;
      return row && pendingDeleteFromRow(row);
    },

    async pendingDeletes(): Promise<PendingDelete[]> {
      const rows = await sql<PendingDeleteRow[]>`
        SELECT device, file_id, samples, deleted_at, log_offset FROM pending_deletes
        WHERE node = ${node} ORDER BY device COLLATE "C", file_id`;
      return rows.map(pendingDeleteFromRow);
    },
  };
}

function fileFromRow(row: FileRow): StoredFile {
  return {
    device: row.device,
    fileID: Number(row.file_id),
    count: Number(row.samples),
    // numeric comes back as its exact decimal text.
    sum: BigInt(row.sum),
    min: Number(row.min),
    max: Number(row.max),
    bytes: Number(row.bytes),
    uploadedAt: Number(row.uploaded_at),
  };
}

/** A file record as the values of {@linkcode FILE_COLUMNS}, in that order. */
function fileValues(file: StoredFile): (string | number)[] {
  return [
    file.device,
    file.fileID,
    file.count,
    // As text: numeric takes any size exactly, where a JS number would round.
    file.sum.toString(),
    file.min,
    file.max,
    file.bytes,
    file.uploadedAt,
  ];
}

function pendingUploadFromRow(row: PendingUploadRow): PendingUpload {
  return {
    ...fileFromRow(row),
    ino: row.ino === null ? null : Number(row.ino),
    logOffset: Number(row.log_offset),
  };
}

/** A record's plot summary as stored: JSON text, or NULL without one. */
function plotText(file: NewFile): string | null {
  return file.plot ? JSON.stringify(file.plot) : null;
}

function pendingDeleteFromRow(row: PendingDeleteRow): PendingDelete {
  return {
    device: row.device,
    fileID: Number(row.file_id),
    count: Number(row.samples),
    deletedAt: Number(row.deleted_at),
    logOffset: Number(row.log_offset),
  };
}
