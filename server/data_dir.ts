/**
 * The server's data directory (SPEC §2): where each file lives, atomic replacement of
 * whole files, untearable appends to the text logs, and safe paths for names that came
 * from the network.
 *
 * @module
 */

import { dirname, join, resolve } from "node:path";
import { onDisk } from "./disk.ts";
import { deviceNameProblem, MAX_FILE_ID } from "../protocol/limits.ts";

/** Suffix of every temporary file the server writes; such files are removed at start. */
export const TEMP_SUFFIX = ".part";

/** Paths inside one data directory. */
export class DataDir {
  /** The directory itself. */
  readonly root: string;
  /** Devices active now (SPEC §2 format). */
  readonly activeLog: string;
  /** One line per successful upload. */
  readonly uploadLog: string;
  /** One line per successful delete. */
  readonly deletionLog: string;
  /** Uploaded data files. */
  readonly uploads: string;
  /** The embedded database. */
  readonly database: string;

  constructor(root: string) {
    this.root = root;
    this.activeLog = join(root, "edge-device-log.txt");
    this.uploadLog = join(root, "upload-log.txt");
    this.deletionLog = join(root, "deletion-log.txt");
    this.uploads = join(root, "uploads");
    this.database = join(root, "iotnet.db");
  }

  /**
   * Where device `name`'s file `fileID` is stored.
   *
   * @throws {RangeError} when the name or ID could step outside `uploads/`; callers
   *   validate first, this is the last line of defence.
   */
  uploadPath(name: string, fileID: number): string {
    const problem = deviceNameProblem(name);
    if (problem) throw new RangeError(problem);
    if (!Number.isSafeInteger(fileID) || fileID < 0 || fileID > MAX_FILE_ID) {
      throw new RangeError(`file ID ${fileID} is not an integer 0..${MAX_FILE_ID}`);
    }
    return join(this.uploads, `${name}-${fileID}.txt`);
  }

  /** A fresh temporary path beside `path`, removed at the next start if left behind. */
  tempPathFor(path: string): string {
    return tempPathFor(path);
  }

  /**
   * Creates the folders, empties the active-device log and removes temporary files left
   * by a crash.
   *
   * @returns the temporary files removed.
   */
  async prepare(): Promise<string[]> {
    await Deno.mkdir(this.uploads, { recursive: true });
    await writeFileAtomic(this.activeLog, new Uint8Array(0));
    const removed: string[] = [];
    for (const dir of [this.root, this.uploads]) {
      for await (const entry of Deno.readDir(dir)) {
        if (entry.isFile && entry.name.endsWith(TEMP_SUFFIX)) {
          await Deno.remove(join(dir, entry.name));
          removed.push(join(dir, entry.name));
        }
      }
    }
    return removed;
  }
}

/** A fresh temporary path beside `path`, ending in {@linkcode TEMP_SUFFIX}. */
function tempPathFor(path: string): string {
  return `${path}.${crypto.randomUUID()}${TEMP_SUFFIX}`;
}

/**
 * Replaces `path` with `data` so that a crash leaves either the old or the new content:
 * temp file → fsync → rename → fsync of the directory.
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const temp = tempPathFor(path);
  try {
    await onDisk(async () => {
      using file = await Deno.open(temp, { write: true, create: true, truncate: true });
      for (let at = 0; at < data.length;) at += await file.write(data.subarray(at));
      await file.sync();
    });
  } catch (error) {
    await onDisk(() => Deno.remove(temp)).catch(() => {});
    throw error;
  }
  await onDisk(() => Deno.rename(temp, path));
  await syncDirectory(path);
}

/** `Deno.stat`, with `undefined` for a path that does not exist. */
export async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await onDisk(() => Deno.stat(path));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Per key: the fsync running now, and the one queued behind it. */
const coalescedSyncs = new Map<string, { running: Promise<void>; next?: Promise<void> }>();

/**
 * Runs `sync` for `key` so that concurrent callers share work: an fsync that *starts*
 * after a caller's write covers it, so everyone who arrives while one runs shares the
 * single one queued behind it. A thousand uploads at once cost a handful of fsyncs of
 * `uploads/` and of the log, not a thousand each.
 */
function coalescedSync(key: string, sync: () => Promise<void>): Promise<void> {
  const state = coalescedSyncs.get(key);
  if (!state) {
    const running = sync().finally(() => advance(key));
    coalescedSyncs.set(key, { running });
    return running;
  }
  state.next ??= state.running.catch(() => {}).then(sync);
  return state.next;
}

function advance(key: string): void {
  const state = coalescedSyncs.get(key);
  if (!state?.next) {
    coalescedSyncs.delete(key);
    return;
  }
  const running = state.next.finally(() => advance(key));
  coalescedSyncs.set(key, { running });
}

/** Fsyncs the directory holding `path`, so a rename or create in it survives a crash. */
export function syncDirectory(path: string): Promise<void> {
  const dir = dirname(resolve(path));
  return coalescedSync(`dir:${dir}`, () => fsyncDirectory(dir));
}

/** Makes every byte written to the file at `path` so far durable (`fdatasync`). */
export function syncFileData(path: string): Promise<void> {
  const file = resolve(path);
  return coalescedSync(`file:${file}`, () =>
    onDisk(async () => {
      using handle = await Deno.open(file, { read: true, write: true });
      await handle.syncData();
    }));
}

function fsyncDirectory(dir: string): Promise<void> {
  return onDisk(async () => {
    using handle = await Deno.open(dir, { read: true });
    await handle.sync();
  });
}
