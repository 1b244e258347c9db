/**
 * The credentials file (SPEC §2): one account per line, `name password`, one space, no
 * spaces inside either. Lines that do not fit are reported with `file:line` and never
 * become accounts. The file is re-read when it changes on disk, so an operator can add an
 * account while the server runs.
 *
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import { deviceNameProblem, MAX_PASSWORD_BYTES } from "../protocol/limits.ts";

/** A credentials line that was not accepted. */
export interface CredentialProblem {
  line: number;
  problem: string;
}

/** The result of parsing a credentials file. */
export interface ParsedCredentials {
  accounts: Map<string, string>;
  problems: CredentialProblem[];
}

/**
 * Parses the text of a credentials file.
 *
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
  const accounts = new Map<string, string>();
  const problems: CredentialProblem[] = [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((raw, index) => {
    const line = index + 1;
    const problem = lineProblem(raw, accounts);
    if (problem) {
      problems.push({ line, problem });
      return;
    }
    const [name, password] = raw.split(" ") as [string, string];
    accounts.set(name, password);
  });
  return { accounts, problems };
}

/** Stands in for a line that was not valid UTF-8 (NUL cannot occur in a valid line). */
const INVALID_UTF8_LINE = "\u0000";

function lineProblem(raw: string, accounts: Map<string, string>): string | undefined {
  if (raw === INVALID_UTF8_LINE) return "is not valid UTF-8";
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
  if (new TextEncoder().encode(password).length > MAX_PASSWORD_BYTES) {
    return `has a password longer than ${MAX_PASSWORD_BYTES} bytes`;
  }
  if ([...password].some((c) => c < " " || c === "\x7f")) {
    return "has a control character in the password";
  }
  if (accounts.has(name)) return `repeats the name ${name}`;
  return undefined;
}

/** Compares two secrets in time that depends only on their lengths. */
export function secretsEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Reads a credentials file, re-reading only when its size or mtime changed. */
export class CredentialsFile {
  readonly path: string;
  readonly #onProblem: (text: string) => void;
  #stamp = "";
  #accounts = new Map<string, string>();

  /**
   * @param path the file.
   * @param onProblem receives one line per rejected line, as `file:line: problem`.
   */
  constructor(path: string, onProblem: (text: string) => void) {
    this.path = path;
    this.#onProblem = onProblem;
  }

  /**
   * The current accounts.
   *
   * @throws {Deno.errors.NotFound} when the file does not exist.
   */
  async accounts(): Promise<Map<string, string>> {
    const info = await Deno.stat(this.path);
    const stamp = `${info.size}:${info.mtime?.getTime()}`;
    if (stamp !== this.#stamp) {
      const bytes = await Deno.readFile(this.path);
      const { accounts, problems } = parseCredentials(decodeLines(bytes));
      for (const p of problems) {
        this.#onProblem(`${this.path}:${p.line}: ${p.problem}; line ignored`);
      }
      this.#accounts = accounts;
      this.#stamp = stamp;
    }
    return this.#accounts;
  }
}

/** Decodes UTF-8 line by line; a line that is not valid UTF-8 becomes a marker line. */
function decodeLines(bytes: Uint8Array): string {
  const strict = new TextDecoder("utf-8", { fatal: true });
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 10) {
      try {
        lines.push(strict.decode(bytes.subarray(start, i)));
      } catch {
        lines.push(INVALID_UTF8_LINE);
      }
      start = i + 1;
    }
  }
  return lines.join("\n");
}
