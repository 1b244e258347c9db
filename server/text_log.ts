/**
 * The server's text logs, `upload-log.txt` and `deletion-log.txt` (SPEC §2): the line
 * format, parsing it back, appending so that a log never keeps a torn line, and cutting
 * off a torn last line left by a crash.
 *
 * @module
 */

import { basename } from "node:path";
import { deviceNameProblem, MAX_FILE_ID } from "../protocol/limits.ts";
import { syncDirectory, syncFileData } from "./data_dir.ts";
import { onDisk } from "./disk.ts";
import { withLock } from "./keyed_lock.ts";
import { formatTimestamp, MONTHS } from "./timestamp.ts";

/** Appends in progress, by log path. */
const LOG_LOCKS = new Map<string, Promise<void>>();

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

/** Lines waiting for the next write to one log, and that write's outcome. */
interface WaitingLines {
  lines: string[];
  written?: Promise<boolean>;
}

/** Per log path: the lines that will go out in its next write. */
const WAITING_LINES = new Map<string, WaitingLines>();

/**
 * Appends one line to a text log and makes it durable. Lines appended while the log's
 * previous write runs wait together and go out in one write, then share an fsync
 * ({@linkcode syncFileData}): a thousand uploads at once cost a few writes of
 * `upload-log.txt`, not a thousand one after another. Writes to one log are serialised in
 * this process, so a failed write (a full disk writes part of it) is cut back off before
 * the next: the log never keeps a torn line, and every line of that write gets the error.
 */
export async function appendLogLine(path: string, line: string): Promise<void> {
  const created = await joinNextWrite(path, line);
  await syncFileData(path);
  if (created) await syncDirectory(path);
}

/** Adds `line` to the next write of the log; resolves with whether that write made it. */
function joinNextWrite(path: string, line: string): Promise<boolean> {
  const waiting = WAITING_LINES.get(path);
  if (waiting) {
    waiting.lines.push(line);
    return waiting.written!;
  }
  const next: WaitingLines = { lines: [line] };
  WAITING_LINES.set(path, next);
  return next.written = withLock(LOG_LOCKS, path, () => {
    WAITING_LINES.delete(path); // from here on, new lines wait for the write after this
    return appendLines(path, next.lines);
  });
}

/** Appends `lines` in one write; cuts a partial write back off. Says if the log was new. */
function appendLines(path: string, lines: string[]): Promise<boolean> {
  const bytes = new TextEncoder().encode(lines.map((line) => `${line}\n`).join(""));
  return onDisk(() => appendBytes(path, bytes));
}

async function appendBytes(path: string, bytes: Uint8Array): Promise<boolean> {
  using file = await Deno.open(path, { append: true, create: true });
  const before = (await file.stat()).size;
  try {
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

/** Cuts off a last line without its newline (a write cut short by a crash). */
export async function cutTornLine(path: string): Promise<string | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true });
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
  return `cut a torn last line off ${basename(path)} (${size - keep} bytes: ${
    JSON.stringify(torn)
  })`;
}

/** Whether `line` is a whole line of the log at or after byte `offset`. */
export async function logHasLineAfter(
  path: string,
  line: string,
  offset: number,
): Promise<boolean> {
  const start = Math.min(offset, logSize(path));
  // Read from one byte early: the first piece is the end of the line before `start`
  // (empty when `start` is a line boundary), never a line of its own.
  let first = start > 0;
  for await (const candidate of readLines(path, start > 0 ? start - 1 : 0)) {
    if (first) {
      first = false;
      continue;
    }
    if (candidate === line) return true;
  }
  return false;
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

/**
 * A log's size now; a missing log has 0 bytes. For the logs the server appends to all the
 * time, whose inodes stay in memory: the `stat` reads no disk, so it runs right here
 * instead of costing a trip to the thread pool (server/disk.ts) on every upload.
 */
export function logSize(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return 0;
    throw error;
  }
}
