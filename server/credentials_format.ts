/**
 * The credentials file's format (SPEC §2): one account per line, `name password`, one
 * space, no spaces inside either. The password is plain text or a `scrypt$...` hash token
 * (`password_hash.ts`). Lines that do not fit are reported by line number and never become
 * accounts; the reports name the problem only, never the password or hash. Pure: reading
 * the file is `credentials_file.ts`, writing it `credentials_writer.ts`.
 *
 * @module
 */

import { deviceNameProblem, MAX_PASSWORD_BYTES } from "../protocol/limits.ts";
import { isPasswordHash, passwordHashProblem } from "./password_hash.ts";
import { ED25519_PREFIX, parsePublicKey } from "../tls/device_key.ts";

/** Longest credentials line, in bytes, newline excluded; longer lines are refused unread. */
export const MAX_CREDENTIALS_LINE_BYTES = 512;

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

/** What {@linkcode withAccountLine} changed. */
export interface SetAccountResult {
  /** Whether a line for the name was there before. */
  replaced: boolean;
  /** Further lines for the same name that were removed (they were ignored anyway). */
  removedDuplicates: number;
}

const encoder = new TextEncoder();
/** The byte that ends a line. */
export const NEWLINE = 0x0a;

/**
 * Parses the text of a credentials file.
 *
 * @param text the whole file.
 * @returns the accounts and the 1-based lines that were refused.
 * @example
 * ```ts
 * import { parseCredentials } from "./credentials_format.ts";
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
  if (password.startsWith(ED25519_PREFIX)) {
    if (parsePublicKey(password) === undefined) {
      return "has an invalid device key (expected ed25519$ and 44 base64 characters from `iotnet keygen`)";
    }
  } else if (isPasswordHash(password)) {
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

/**
 * The account line for `name`, checked exactly as the server will read it.
 *
 * @throws {RangeError} when the server would refuse the line.
 */
export function accountLine(name: string, passwordToken: string): string {
  const line = `${name} ${passwordToken}`;
  const problem = lineProblem(line, new Map());
  if (problem) throw new RangeError(`cannot write the account line: it ${problem}`);
  return line;
}
