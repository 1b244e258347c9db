/**
 * The server's text logs, `upload-log.txt` and `deletion-log.txt` (SPEC §2): the line
 * format, parsing it back, appending so that a log never keeps a torn line, and cutting
 * off a torn last line left by a crash. One {@linkcode TextLog} per log file of a server.
 *
 * @module
 */

import { basename } from "node:path";
import { Coalesced } from "../internal/mod.ts";
import { deviceNameProblem, MAX_FILE_ID } from "../protocol/limits.ts";
import type { Disk } from "./disk.ts";
import { formatTimestamp, MONTHS } from "./timestamp.ts";

/** One parsed line of `upload-log.txt` or `deletion-log.txt`. */
export interface LogLine {
  device: string;
  /** The timestamp, read in the server's time zone (ms epoch). */
  at: number;
  fileID: number;
  dataAmount: number;
}

const LOG_LINE_PATTERN = new RegExp(
  `^([^;\\s]+); ([1-9]|[12]\\d|3[01]) (${MONTHS.join("|")}) (\\d{4}) ` +
    `([01]\\d|2[0-3]):([0-5]\\d):([0-5]\\d); (\\d{1,10}); (\\d{1,15})$`,
);

/**
 * Parses a log line in the SPEC §2 format `name; d MMMM yyyy HH:mm:ss; fileID; dataAmount`.
 *
 * @returns the fields, or `undefined` when the line is not in that format.
 * @example
 * ```ts
 * import { parseLogLine } from "./text_log.ts";
 * import assert from "node:assert/strict";
 * const line = parseLogLine("watch1; 30 September 2022 10:31:13; 3; 100");
 * assert.equal(line?.fileID, 3);
 * assert.equal(parseLogLine("watch1; 30 Sept"), undefined);
 * ```
 */
export function parseLogLine(line: string): LogLine | undefined {
  const m = LOG_LINE_PATTERN.exec(line);
  if (!m) return undefined;
  const [, device, day, month, year, hh, mm, ss, fileID, amount] = m;
  if (deviceNameProblem(device!)) return undefined;
  const id = Number(fileID);
  if (id > MAX_FILE_ID) return undefined;
  const at = new Date(
    Number(year),
    (MONTHS as readonly string[]).indexOf(month!),
    Number(day),
    Number(hh),
    Number(mm),
    Number(ss),
  );
  if (at.getDate() !== Number(day)) return undefined; // 31 February
  return { device: device!, at: at.getTime(), fileID: id, dataAmount: Number(amount) };
}

/** A log line in the SPEC §2 format. */
export function formatLogLine(
  device: string,
  at: number,
  fileID: number,
  dataAmount: number,
): string {
  return `${device}; ${formatTimestamp(at)}; ${fileID}; ${dataAmount}`;
}

/** One text log of a server's data directory, and its appends. */
export class TextLog {
  /** The log file. */
  readonly path: string;
  readonly #disk: Disk;
  /** Lines for the next write; the write takes them all when it starts. */
  #waiting: string[] = [];
  /** Writes of waiting lines, one at a time; resolves with whether the log was new. */
  readonly #writes: Coalesced<boolean>;

  /**
   * @param path the log file (created by the first append).
   * @param disk the server's disk.
   */
  constructor(path: string, disk: Disk) {
    this.path = path;
    this.#disk = disk;
    this.#writes = new Coalesced(() => {
      const lines = this.#waiting;
      this.#waiting = [];
      return disk.run(() => appendLines(path, lines));
    });
  }

  /**
   * Appends one line and makes it durable. Lines appended while the log's previous write
   * runs wait together and go out in one write, then share an fsync
   * ({@linkcode Disk.syncFileData}): a thousand uploads at once cost a few writes of
   * `upload-log.txt`, not a thousand one after another. Writes to one log run one at a
   * time, so a failed write (a full disk writes part of it) is cut back off before the
   * next: the log never keeps a torn line, and every line of that write gets the error.
   *
   * @param line the line, without its newline.
   * @throws the file system's error when the write or its fsync fails.
   */
  async append(line: string): Promise<void> {
    this.#waiting.push(line);
    const created = await this.#writes.run();
    await this.#disk.syncFileData(this.path);
    if (created) await this.#disk.syncDirectory(this.path);
  }

  /**
   * The log's size now; a missing log has 0 bytes. The server appends to its logs all the
   * time, so their inodes stay in memory: the `stat` reads no disk, so it runs right here
   * instead of costing a disk turn on every upload.
   */
  size(): number {
    try {
      return Deno.statSync(this.path).size;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return 0;
      throw error;
    }
  }

  /** Whether `line` is a whole line of the log at or after byte `offset`. */
  async hasLineAfter(line: string, offset: number): Promise<boolean> {
    const start = Math.min(offset, this.size());
    // Read from one byte early: the first piece is the end of the line before `start`
    // (empty when `start` is a line boundary), never a line of its own.
    let first = start > 0;
    for await (const candidate of readLines(this.path, start > 0 ? start - 1 : 0)) {
      if (first) {
        first = false;
        continue;
      }
      if (candidate === line) return true;
    }
    return false;
  }

  /**
   * Cuts off a last line without its newline (a write cut short by a crash).
   *
   * @returns a sentence for the server log saying what was cut, or `undefined` when the
   *   log ends with a whole line (or does not exist).
   */
  async cutTornLine(): Promise<string | undefined> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.path, { read: true, write: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    using _ = file;
    const size = (await file.stat()).size;
    let keep = 0;
    for (let end = size; end > 0;) {
      const start = Math.max(0, end - 4096);
      const block = await readAt(file, start, end - start);
      if (end === size && block.at(-1) === NEWLINE) return undefined;
      const i = block.lastIndexOf(NEWLINE);
      if (i >= 0) {
        keep = start + i + 1;
        break;
      }
      end = start;
    }
    if (keep === size) return undefined;
    const torn = new TextDecoder().decode(await readAt(file, keep, Math.min(size - keep, 80)));
    await file.truncate(keep);
    await file.sync();
    return `cut a torn last line off ${basename(this.path)} (${size - keep} bytes: ${
      JSON.stringify(torn)
    })`;
  }
}

/** Appends `lines` in one write; cuts a partial write back off. Says if the log was new. */
async function appendLines(path: string, lines: string[]): Promise<boolean> {
  const bytes = new TextEncoder().encode(lines.map((line) => `${line}\n`).join(""));
  using file = await Deno.open(path, { append: true, create: true });
  const before = (await file.stat()).size;
  try {
    // One write, not a loop: a line split over two writes could be torn by a crash.
    const written = await file.write(bytes);
    if (written !== bytes.length) {
      throw new Error(`short write to ${path}: ${written} of ${bytes.length} bytes`);
    }
  } catch (error) {
    await file.truncate(before).catch(() => {});
    throw error;
  }
  return before === 0;
}

const NEWLINE = 10;

/** The lines of a text file from byte `from`; a missing file has none. */
export async function* readLines(path: string, from = 0): AsyncGenerator<string> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  using _ = file;
  await file.seek(from, Deno.SeekMode.Start);
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(64 * 1024);
  let rest = "";
  for (;;) {
    const n = await file.read(buffer);
    if (n === null) break;
    rest += decoder.decode(buffer.subarray(0, n), { stream: true });
    const lines = rest.split("\n");
    rest = lines.pop()!;
    yield* lines;
  }
  rest += decoder.decode();
  if (rest) yield rest;
}

async function readAt(file: Deno.FsFile, at: number, length: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  await file.seek(at, Deno.SeekMode.Start);
  for (let got = 0; got < length;) {
    const n = await file.read(buffer.subarray(got));
    if (n === null) return buffer.subarray(0, got);
    got += n;
  }
  return buffer;
}
