/**
 * Start-up recovery (SPEC §6): before the server serves anyone, it settles the commit
 * journal by the rules of `server/file_commits.ts` (which holds the write order of UED
 * and DTE and what a crash after each step leaves), then checks for damage the journal
 * cannot explain (a data directory from an iotnet without the journal, or edited by
 * hand): a torn last line of a text log is cut off; a record whose file is missing is
 * forgotten; a file whose size differs from its record is moved aside as `.damaged`; an
 * `uploads/<name>-<id>.txt` with no record was never acknowledged and is removed; a
 * record with no matching `upload-log.txt` line gets one, with the record's own timestamp.
 *
 * In a network (SPEC §9) the records checked are those of the files this node holds
 * (`FileRecords.held`): the others' files are on the others' disks. A file here whose
 * record names another node was uploaded again through it, or deleted while this node was
 * down: it is removed like one with no record.
 *
 * @module
 */

import { basename, join } from "node:path";
import { deviceNameProblem, MAX_FILE_ID } from "../protocol/limits.ts";
import type { DataDir } from "./data_dir.ts";
import type { Disk } from "./disk.ts";
import type { FileCommits } from "./file_commits.ts";
import { describeIoError } from "./io_error.ts";
import { StoreError } from "./store/store_error.ts";
import type { FileRecords, StoredFile } from "./store/interfaces.ts";
import { formatLogLine, type LogLine, parseLogLine, readLines, type TextLog } from "./text_log.ts";

/** The data directory could not be made consistent; the server must not start. */
export class RecoveryError extends StoreError {}

/** What recovery works on: the parts of a server that own the data directory. */
export interface RecoveryTarget {
  dataDir: DataDir;
  files: FileRecords;
  commits: FileCommits;
  disk: Disk;
  /** Whether the server is a node of a network (SPEC §9): only its messages differ. */
  inNetwork?: boolean;
}

/**
 * Brings a data directory back to a consistent state after a crash, before the server
 * serves anyone. Runs after `DataDir.prepare` (which removed the `.part` files) with the
 * store open. Idempotent: a second run finds nothing to do.
 *
 * @returns one sentence per repair, for the server log; empty when all was in order.
 * @throws {RecoveryError} when a repair fails (the server must not start).
 */
export async function recoverDataDir(target: RecoveryTarget): Promise<string[]> {
  try {
    return await recover(target);
  } catch (error) {
    throw new RecoveryError(
      `cannot recover the data directory ${target.dataDir.root}: ${describeIoError(error)}`,
      { cause: error },
    );
  }
}

async function recover(target: RecoveryTarget): Promise<string[]> {
  const { dataDir, files, commits, disk } = target;
  const repairs: string[] = [];
  for (const log of [commits.uploadLog, commits.deletionLog]) {
    const repair = await log.cutTornLine();
    if (repair) repairs.push(repair);
  }
  repairs.push(...await commits.settleJournal());

  const live: StoredFile[] = [];
  const recorded = new Set<string>();
  for (const file of await files.held()) {
    const path = dataDir.uploadPath(file.device, file.fileID);
    const shown = `uploads/${basename(path)}`;
    const info = await disk.stat(path);
    if (!info) {
      await files.remove(file.device, file.fileID);
      repairs.push(`forgot ${file.device}'s file ${file.fileID}: ${shown} is missing`);
    } else if (!info.isFile || info.size !== file.bytes) {
      await Deno.rename(path, `${path}.damaged`);
      recorded.add(`${basename(path)}.damaged`);
      await files.remove(file.device, file.fileID);
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
    repairs.push(`removed uploads/${entry.name}: ${await whyUnheld(target, entry.name)}`);
  }
  // syncDirectory syncs the folder holding the path it is given.
  if (removed) await disk.syncDirectory(join(dataDir.uploads, "any"));

  repairs.push(...await addMissingUploadLines(commits.uploadLog, live));
  return repairs;
}

/** Why a file in `uploads/` that no record of this server names is not wanted. */
async function whyUnheld(target: RecoveryTarget, name: string): Promise<string> {
  if (!target.inNetwork) return "it has no record, so its upload was never acknowledged";
  const { device, fileID } = parseUploadName(name)!;
  return await target.files.get(device, fileID)
    ? "its record names another node, which the file was uploaded again through"
    : "it has no record: its upload was never acknowledged, or it was deleted through " +
      "another node while this one was down";
}

/** Longest a log's timestamp may differ from its record's and still be its line. */
const SAME_UPLOAD_MS = 24 * 60 * 60 * 1000;

/**
 * Appends an `upload-log.txt` line for each record whose latest line is not its own.
 * A line is the record's when it has the same dataAmount and a timestamp within a day
 * (the log is in local time: a changed time zone must not look like a missing line).
 */
async function addMissingUploadLines(log: TextLog, live: StoredFile[]): Promise<string[]> {
  if (live.length === 0) return [];
  const key = (device: string, fileID: number) => `${device}/${fileID}`;
  const records = new Map(live.map((f) => [key(f.device, f.fileID), f]));
  const latest = new Map<string, LogLine>();
  for await (const text of readLines(log.path)) {
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
    await log.append(line);
    repairs.push(
      `appended the missing upload-log.txt line of ${f.device}'s file ${f.fileID}: ${line}`,
    );
  }
  return repairs;
}

/** `<name>-<fileID>.txt` as `DataDir.uploadPath` writes it, or `undefined`. */
function parseUploadName(name: string): { device: string; fileID: number } | undefined {
  const m = /^(.+)-(0|[1-9]\d{0,9})\.txt$/.exec(name);
  if (!m) return undefined;
  const fileID = Number(m[2]);
  if (deviceNameProblem(m[1]!) || fileID > MAX_FILE_ID) return undefined;
  return { device: m[1]!, fileID };
}
