/**
 * The credentials file (SPEC §2): one account per line, `name password`, one space, no
 * spaces inside either. The password is plain text or a `scrypt$...` hash token
 * (`password_hash.ts`). Lines that do not fit are reported with `file:line` and never
 * become accounts; the reports name the problem only, never the password or hash. The
 * file is re-read when it changes on disk, so an operator can add an account while the
 * server runs.
 *
 * Writers ({@linkcode appendAccount} for registration, {@linkcode setAccount} for
 * `iotnet passwd`) take an exclusive `flock` on the file, so they never lose each other's
 * lines, and each leaves the file whole at every instant: one appended line written with a
 * single `write` on an `O_APPEND` handle, or a complete new file renamed into place.
 *
 * @module
 */

import { resolve } from "node:path";
import { deviceNameProblem, MAX_PASSWORD_BYTES } from "../protocol/limits.ts";
import { syncDirectory, TEMP_SUFFIX } from "./data_dir.ts";
import { onDisk } from "./disk.ts";
import { isPasswordHash, passwordHashProblem } from "./password_hash.ts";

/** Longest credentials line, in bytes, newline excluded; longer lines are refused unread. */
export const MAX_CREDENTIALS_LINE_BYTES = 512;

/** Permissions of a credentials file that iotnet creates: owner read/write only. */
export const CREDENTIALS_FILE_MODE = 0o600;

/** A credentials line that was not accepted. */
export interface CredentialProblem {
  line: number;
  problem: string;
}

/** The result of parsing a credentials file. */
export interface ParsedCredentials {
  /** Name → stored password (plain text or hash token). */
  accounts: Map<string, string>;
  problems: CredentialProblem[];
}

/** Where accounts come from: the shape of {@linkcode CredentialsFile} that login needs. */
export interface AccountSource {
  /** The current accounts, name → stored password. */
  accounts(): Promise<Map<string, string>>;
}

/** {@linkcode appendAccount} was asked to add a name that already has an account. */
export class AccountExistsError extends Error {
  override name = "AccountExistsError";
}

const encoder = new TextEncoder();
const NEWLINE = 0x0a;

/**
 * Parses the text of a credentials file.
 *
 * @param text the whole file.
 * @returns the accounts and the 1-based lines that were refused.
 * @example
 * ```ts
 * import { parseCredentials } from "./credentials.ts";
 * import assert from "node:assert/strict";
 * const { accounts, problems } = parseCredentials("watch1 pw1\nbad line here\n");
 * assert.equal(accounts.get("watch1"), "pw1");
 * assert.equal(problems[0]?.line, 2);
 * ```
 */
export function parseCredentials(text: string): ParsedCredentials {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return parseLines(lines);
}

/**
 * Parses the bytes of a credentials file; a line that is not valid UTF-8 is refused on
 * its own and the other lines still count.
 *
 * @param bytes the whole file.
 * @returns the accounts and the 1-based lines that were refused.
 */
export function parseCredentialsBytes(bytes: Uint8Array): ParsedCredentials {
  return parseLines(splitLines(bytes).map(decodeLine));
}

/** A {@linkcode LineFault} stands for a line refused before decoding (bad UTF-8, too long). */
function parseLines(lines: (string | LineFault)[]): ParsedCredentials {
  const accounts = new Map<string, string>();
  const problems: CredentialProblem[] = [];
  lines.forEach((raw, index) => {
    const problem = typeof raw === "string" ? lineProblem(raw, accounts) : raw.problem;
    if (problem) {
      problems.push({ line: index + 1, problem });
      return;
    }
    const [name, password] = (raw as string).split(" ") as [string, string];
    accounts.set(name, password);
  });
  return { accounts, problems };
}

/** A line refused before it was decoded. */
interface LineFault {
  problem: string;
}

function lineProblem(raw: string, accounts: Map<string, string>): string | undefined {
  if (encoder.encode(raw).length > MAX_CREDENTIALS_LINE_BYTES) return tooLong();
  if (raw.trim() === "") return "blank line";
  if (raw.endsWith("\r")) return "ends with a carriage return (CRLF line endings)";
  const fields = raw.split(" ");
  if (fields.length !== 2) {
    return fields.length < 2
      ? "has no space between name and password"
      : "has more than one space; the format is `name password`";
  }
  const [name, password] = fields as [string, string];
  const nameProblem = deviceNameProblem(name);
  if (nameProblem) return nameProblem;
  if (password.length === 0) return "has an empty password";
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(password)) return "has a control character in the password";
  if (isPasswordHash(password)) {
    const hashProblem = passwordHashProblem(password);
    if (hashProblem) return `has an invalid password hash (${hashProblem})`;
  } else if (encoder.encode(password).length > MAX_PASSWORD_BYTES) {
    return `has a password longer than ${MAX_PASSWORD_BYTES} bytes`;
  }
  if (accounts.has(name)) return `repeats the name ${name}; the first line for it counts`;
  return undefined;
}

function tooLong(): string {
  return `is longer than ${MAX_CREDENTIALS_LINE_BYTES} bytes`;
}

/** Splits at `\n`; a last empty piece (the file's final newline) is not a line. */
function splitLines(bytes: Uint8Array): Uint8Array[] {
  const lines: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === NEWLINE) {
      lines.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < bytes.length) lines.push(bytes.subarray(start));
  return lines;
}

const strictDecoder = new TextDecoder("utf-8", { fatal: true });

function decodeLine(bytes: Uint8Array): string | LineFault {
  if (bytes.length > MAX_CREDENTIALS_LINE_BYTES) return { problem: tooLong() };
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return { problem: "is not valid UTF-8" };
  }
}

/** Reads a credentials file, re-reading only when it was replaced or changed. */
export class CredentialsFile implements AccountSource {
  readonly path: string;
  readonly #onProblem: (text: string) => void;
  #stamp = "";
  #accounts = new Map<string, string>();
  #checking: Promise<Map<string, string>> | undefined;

  /**
   * @param path the file.
   * @param onProblem receives one line per rejected line, as `file:line: problem`.
   */
  constructor(path: string, onProblem: (text: string) => void) {
    this.path = path;
    this.#onProblem = onProblem;
  }

  /**
   * The current accounts. The map is replaced, never changed, when the file changes, so
   * callers may cache what they derive from it by identity. Callers that ask while a
   * check of the file is under way share it: a burst of messages costs one `stat`.
   *
   * @throws {Deno.errors.NotFound} when the file does not exist.
   */
  accounts(): Promise<Map<string, string>> {
    return this.#checking ??= this.#check().finally(() => this.#checking = undefined);
  }

  async #check(): Promise<Map<string, string>> {
    const info = await onDisk(() => Deno.stat(this.path));
    const stamp = `${info.dev}:${info.ino}:${info.size}:${info.mtime?.getTime()}`;
    if (stamp !== this.#stamp) {
      const bytes = await onDisk(() => Deno.readFile(this.path));
      const { accounts, problems } = parseCredentialsBytes(bytes);
      for (const p of problems) {
        this.#onProblem(`${this.path}:${p.line}: ${p.problem}; line ignored`);
      }
      this.#accounts = accounts;
      this.#stamp = stamp;
    }
    return this.#accounts;
  }
}

/**
 * Adds one account line to a credentials file that a running server may be reading:
 * a single `write` of `name token\n` (preceded by `\n` when the file does not end with
 * one) on an `O_APPEND` handle, then `fdatasync`. Writers hold an exclusive lock, so two
 * registrations of the same name cannot both succeed. Creates the file (mode 0600) if
 * it is missing.
 *
 * @param path the credentials file.
 * @param name the new device name.
 * @param passwordToken a hash token from `hashPassword` (or a plain password).
 * @throws {AccountExistsError} when `name` already has an account.
 * @throws {RangeError} when the line would not be a valid account line.
 * @example
 * ```ts
 * import { appendAccount, parseCredentials } from "./credentials.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "watch1 pw1");
 * await appendAccount(path, "watch2", "pw2");
 * assert.equal(await Deno.readTextFile(path), "watch1 pw1\nwatch2 pw2\n");
 * assert.equal(parseCredentials(await Deno.readTextFile(path)).accounts.size, 2);
 * await Deno.remove(path);
 * ```
 */
export async function appendAccount(
  path: string,
  name: string,
  passwordToken: string,
): Promise<void> {
  const line = accountLine(name, passwordToken);
  const created = !(await exists(path));
  using file = await lockFile(path);
  const bytes = await Deno.readFile(path);
  if (parseCredentialsBytes(bytes).accounts.has(name)) {
    throw new AccountExistsError(`${name} already has an account`);
  }
  const needsNewline = bytes.length > 0 && bytes[bytes.length - 1] !== NEWLINE;
  const data = encoder.encode(`${needsNewline ? "\n" : ""}${line}\n`);
  const written = await file.write(data);
  if (written !== data.length) {
    throw new Error(`short append to ${path}: ${written} of ${data.length} bytes`);
  }
  await file.syncData();
  if (created) await syncDirectory(resolve(path));
}

/** What {@linkcode setAccount} did. */
export interface SetAccountResult {
  /** Whether a line for the name was there before. */
  replaced: boolean;
  /** Further lines for the same name that were removed (they were ignored anyway). */
  removedDuplicates: number;
}

/**
 * Sets `name`'s password: replaces its line (or adds one) and writes the whole file
 * atomically (temp file → fsync → rename → fsync of the directory), keeping every other
 * line byte for byte and the file's permissions (0600 for a new file).
 *
 * @param path the credentials file; created when missing.
 * @param name the device name.
 * @param passwordToken a hash token from `hashPassword` (or a plain password).
 * @returns whether a line was replaced.
 * @throws {RangeError} when the line would not be a valid account line.
 */
export async function setAccount(
  path: string,
  name: string,
  passwordToken: string,
): Promise<SetAccountResult> {
  const line = accountLine(name, passwordToken);
  using file = await lockFile(path);
  const { bytes, replaced, removedDuplicates } = withAccountLine(
    await Deno.readFile(path),
    name,
    line,
  );
  const mode = (await file.stat()).mode;
  const temp = `${path}.${crypto.randomUUID()}${TEMP_SUFFIX}`;
  try {
    using out = await Deno.open(temp, {
      write: true,
      createNew: true,
      mode: mode === null ? CREDENTIALS_FILE_MODE : mode & 0o777,
    });
    for (let at = 0; at < bytes.length;) at += await out.write(bytes.subarray(at));
    await out.sync();
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  await syncDirectory(resolve(path));
  return { replaced, removedDuplicates };
}

/**
 * The bytes of a credentials file with `name`'s line set to `line`: the first line whose
 * first field is `name` is replaced, later ones are dropped, and without one the line is
 * added at the end. Other lines stay byte for byte; the result ends with a newline.
 *
 * @param bytes the file as it is.
 * @param name the device name.
 * @param line the complete new line, without newline.
 * @returns the new file and what changed.
 */
export function withAccountLine(
  bytes: Uint8Array,
  name: string,
  line: string,
): SetAccountResult & { bytes: Uint8Array } {
  const nameBytes = encoder.encode(name);
  const out: Uint8Array[] = [];
  let replaced = false;
  let removedDuplicates = 0;
  for (const current of splitLines(bytes)) {
    if (!firstFieldIs(current, nameBytes)) out.push(current);
    else if (!replaced) {
      out.push(encoder.encode(line));
      replaced = true;
    } else removedDuplicates++;
  }
  if (!replaced) out.push(encoder.encode(line));
  const total = out.reduce((n, l) => n + l.length + 1, 0);
  const result = new Uint8Array(total);
  let at = 0;
  for (const l of out) {
    result.set(l, at);
    result[at + l.length] = NEWLINE;
    at += l.length + 1;
  }
  return { bytes: result, replaced, removedDuplicates };
}

/** Whether a line's first field (up to a space, a CR or its end) is exactly `name`. */
function firstFieldIs(line: Uint8Array, name: Uint8Array): boolean {
  if (line.length < name.length) return false;
  for (let i = 0; i < name.length; i++) if (line[i] !== name[i]) return false;
  const next = line[name.length];
  return next === undefined || next === 0x20 || next === 0x0d;
}

/** The account line for `name`, checked exactly as the server will read it. */
function accountLine(name: string, passwordToken: string): string {
  const line = `${name} ${passwordToken}`;
  const problem = lineProblem(line, new Map());
  if (problem) throw new RangeError(`cannot write the account line: it ${problem}`);
  return line;
}

/**
 * Opens `path` for appending (creating it 0600 if missing) and takes an exclusive lock.
 * When another writer renamed a new file over the path while this one waited, the lock
 * is on the old file: retry on the new one.
 */
async function lockFile(path: string): Promise<Deno.FsFile> {
  for (;;) {
    const file = await Deno.open(path, {
      read: true,
      append: true,
      create: true,
      mode: CREDENTIALS_FILE_MODE,
    });
    try {
      await file.lock(true);
      const held = await file.stat();
      const current = await Deno.stat(path).catch(() => undefined);
      if (current && current.ino === held.ino && current.dev === held.dev) return file;
    } catch (error) {
      file.close();
      throw error;
    }
    file.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
