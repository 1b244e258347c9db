/**
 * File I/O adapters of the transport: a {@linkcode BlockReader} that reads a file in
 * large blocks on the sender, and a {@linkcode PartFile} on the receiver that writes to
 * `.<name>.<transferId>.part` and, after the digest matched, is fsynced and linked under
 * `<name>` (or `<name> (n)` when that is taken), never replacing anything. Errors are
 * classified into the wire reasons `unwritable`/`disk_full`.
 *
 * @module
 */

import { join } from "node:path";
import { MAX_NAME_COUNTER } from "./limits.ts";
import { numberedFileName } from "./safe_file_name.ts";
import { writeAll } from "../internal/mod.ts";

/** Reads a file sequentially in blocks. */
export class BlockReader {
  #file: Deno.FsFile;
  #closed = false;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /**
   * Opens a file for reading.
   *
   * @param path the file.
   * @returns the reader and the file's size.
   * @throws {Deno.errors.NotFound} and other open errors.
   */
  static async open(path: string): Promise<{ reader: BlockReader; size: number }> {
    const file = await Deno.open(path, { read: true });
    try {
      const st = await file.stat();
      if (!st.isFile) throw new TypeError(`${path} is not a regular file`);
      return { reader: new BlockReader(file), size: st.size };
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /**
   * Reads up to `n` bytes (fewer only at end of file) into a fresh buffer.
   *
   * @param n bytes wanted.
   * @returns the bytes; empty at end of file.
   */
  async read(n: number): Promise<Uint8Array> {
    const buf = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const r = await this.#file.read(buf.subarray(got));
      if (r === null) break;
      got += r;
    }
    return got === n ? buf : buf.subarray(0, got);
  }

  /**
   * Fills `buf` from the file (fewer bytes only at end of file), without allocating.
   *
   * @param buf where to read to.
   * @returns the number of bytes read; less than `buf.length` only at end of file.
   */
  async readInto(buf: Uint8Array): Promise<number> {
    let got = 0;
    while (got < buf.length) {
      const r = await this.#file.read(buf.subarray(got));
      if (r === null) break;
      got += r;
    }
    return got;
  }

  /** Closes the file (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#file.close();
    } catch {
      // already closed
    }
  }
}

/** Why a receive-folder operation failed, in wire terms, with a human message. */
export interface StorageFailure {
  reason: "unwritable" | "disk_full";
  message: string;
}

/**
 * Classifies a file-system error from the receive folder.
 *
 * @param e the error.
 * @param what what was being done, e.g. `create temporary file in /x`.
 * @returns the wire reason and a message saying what happened.
 */
export function classifyStorageError(e: unknown, what: string): StorageFailure {
  const text = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: string } | null)?.code ?? "";
  if (code === "ENOSPC" || code === "EDQUOT" || /no space left|quota/i.test(text)) {
    return { reason: "disk_full", message: `disk full: cannot ${what}` };
  }
  if (
    e instanceof Deno.errors.PermissionDenied || code === "EACCES" || code === "EPERM" ||
    code === "EROFS"
  ) {
    return { reason: "unwritable", message: `permission denied: cannot ${what}` };
  }
  if (e instanceof Deno.errors.NotFound) {
    return { reason: "unwritable", message: `folder does not exist: cannot ${what}` };
  }
  return { reason: "unwritable", message: `cannot ${what}: ${text}` };
}

/** Most bytes gathered into one write call. */
export const WRITE_BATCH_BYTES = 1 << 20;
/** Chunks at least this large are written as they are, without gathering. */
const SMALL_CHUNK_BYTES = 64 * 1024;

/** A receive-side temporary file that gets its final name only on commit. */
export class PartFile {
  #file: Deno.FsFile;
  readonly tmpPath: string;
  readonly #dir: string;
  readonly #name: string;
  #closed = false;

  private constructor(file: Deno.FsFile, tmpPath: string, dir: string, name: string) {
    this.#file = file;
    this.tmpPath = tmpPath;
    this.#dir = dir;
    this.#name = name;
  }

  /**
   * Creates `dir/.<name>.<transferId>.part` (never overwriting).
   *
   * @param dir the receive folder.
   * @param name the safe final base name.
   * @param transferId the transfer id (hex).
   * @throws the file-system error; classify it with {@linkcode classifyStorageError}.
   */
  static async create(dir: string, name: string, transferId: string): Promise<PartFile> {
    const tmpPath = join(dir, `.${name}.${transferId}.part`);
    const file = await Deno.open(tmpPath, { write: true, createNew: true });
    return new PartFile(file, tmpPath, dir, name);
  }

  /**
   * Appends chunks: large ones as they are, runs of small ones gathered into one write
   * of at most {@linkcode WRITE_BATCH_BYTES}.
   *
   * @param chunks the bytes, in order.
   */
  async write(chunks: Uint8Array[]): Promise<void> {
    let i = 0;
    while (i < chunks.length) {
      let n = 0;
      let j = i;
      while (
        j < chunks.length && (j === i || chunks[j]!.length < SMALL_CHUNK_BYTES) &&
        (n === 0 || n + chunks[j]!.length <= WRITE_BATCH_BYTES)
      ) {
        n += chunks[j]!.length;
        j++;
        if (n >= SMALL_CHUNK_BYTES) break;
      }
      let buf: Uint8Array;
      if (j - i === 1) {
        buf = chunks[i]!;
      } else {
        buf = new Uint8Array(n);
        let o = 0;
        for (let k = i; k < j; k++) {
          buf.set(chunks[k]!, o);
          o += chunks[k]!.length;
        }
      }
      await writeAll(this.#file, buf);
      i = j;
    }
  }

  /**
   * fsync, close, and give the file its final name: the first of `<name>`,
   * `<name> (1)`, `<name> (2)`, ... that is free and not `reserved`. Each try is a hard
   * link, which fails rather than replace an existing file, so nothing in the folder is
   * ever replaced, even by two transfers that finish at once; the part file is then
   * removed. (A crash between the two leaves a part file, removed at the next start.)
   *
   * @param reserved names never to take, though free (the device's own data files).
   * @returns the path the file was stored under.
   * @throws {Deno.errors.AlreadyExists} when the name and its first
   * {@linkcode MAX_NAME_COUNTER} numbered forms are all taken; other file-system errors.
   */
  async commit(reserved: (name: string) => boolean = () => false): Promise<string> {
    await this.#file.sync();
    this.close();
    for (let n = 0; n <= MAX_NAME_COUNTER; n++) {
      const name = n === 0 ? this.#name : numberedFileName(this.#name, n);
      if (reserved(name)) continue;
      const path = join(this.#dir, name);
      try {
        await Deno.link(this.tmpPath, path);
      } catch (e) {
        if (e instanceof Deno.errors.AlreadyExists) continue;
        throw e;
      }
      await Deno.remove(this.tmpPath);
      return path;
    }
    throw new Deno.errors.AlreadyExists(
      `${this.#name} and the ${MAX_NAME_COUNTER} numbered names after it are all taken`,
    );
  }

  /** Closes and removes the temporary file (best effort, idempotent). */
  async discard(): Promise<void> {
    this.close();
    try {
      await Deno.remove(this.tmpPath);
    } catch {
      // already gone
    }
  }

  /** Closes the handle (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#file.close();
    } catch {
      // already closed
    }
  }
}

/** Matches temporary files this module creates: `.<name>.<32 hex>.part`. */
export const PART_FILE_PATTERN = /^\..+\.[0-9a-f]{32}\.part$/;

/**
 * Removes leftover temporary files (from a crash) older than `olderThanMs`.
 *
 * @param dir the receive folder.
 * @param olderThanMs age threshold.
 * @param now current time in ms since the epoch.
 * @returns how many were removed.
 */
export async function removeStaleParts(
  dir: string,
  olderThanMs: number,
  now: number,
): Promise<number> {
  let removed = 0;
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !PART_FILE_PATTERN.test(e.name)) continue;
      const p = join(dir, e.name);
      try {
        const st = await Deno.stat(p);
        if (st.mtime && now - st.mtime.getTime() > olderThanMs) {
          await Deno.remove(p);
          removed++;
        }
      } catch {
        // raced with another cleaner
      }
    }
  } catch {
    // folder missing or unreadable: transfers will report it
  }
  return removed;
}
