/**
 * Reading the credentials file while the server runs: it is re-read when it changes on
 * disk (so an operator can add an account while the server runs), and its problems are
 * reported as `file:line` once per version of the file.
 *
 * @module
 */

import { parseCredentialsBytes } from "./credentials_format.ts";
import type { Disk } from "./disk.ts";

/** Where accounts come from: the shape of {@linkcode CredentialsFile} that login needs. */
export interface AccountSource {
  /** The current accounts, name → stored password. */
  accounts(): Promise<Map<string, string>>;
}

/** Options of {@linkcode CredentialsFile}. */
export interface CredentialsFileOptions {
  /** The server's disk, whose turns the checks take. */
  disk: Disk;
  /** Receives one line per rejected line, as `file:line: problem`. */
  onProblem: (text: string) => void;
}

/** Reads a credentials file, re-reading only when it was replaced or changed. */
export class CredentialsFile implements AccountSource {
  readonly path: string;
  readonly #onProblem: (text: string) => void;
  readonly #disk: Disk;
  #stamp = "";
  #accounts = new Map<string, string>();
  #checking: Promise<Map<string, string>> | undefined;

  /**
   * @param path the file.
   * @param options the server's disk, and where problems with lines are reported.
   */
  constructor(path: string, options: CredentialsFileOptions) {
    this.path = path;
    this.#onProblem = options.onProblem;
    this.#disk = options.disk;
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
    const info = await this.#disk.run(() => Deno.stat(this.path));
    const stamp = `${info.dev}:${info.ino}:${info.size}:${info.mtime?.getTime()}`;
    if (stamp !== this.#stamp) {
      const bytes = await this.#disk.run(() => Deno.readFile(this.path));
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
