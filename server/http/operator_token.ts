/**
 * The operator token (SPEC §8): `<data-dir>/operator-token`, made at the first start with
 * `--http`, mode 0600, 32 random bytes in base64url. Its path may be printed, never its
 * content.
 *
 * @module
 */

import { join } from "node:path";
import { describeIoError } from "../io_error.ts";
import { StartupError } from "../startup_error.ts";

/** The token file's name in the data directory. */
export const OPERATOR_TOKEN_FILE = "operator-token";
/** The token file's mode: the server's user only. */
export const OPERATOR_TOKEN_MODE = 0o600;
/** Random bytes in a new token. */
const TOKEN_BYTES = 32;
/** The shortest token accepted from an existing file (a person may write their own). */
export const MIN_TOKEN_CHARS = 32;

/** The token and where it is kept. */
export interface OperatorToken {
  path: string;
  token: string;
  /** Whether this start created it. */
  created: boolean;
}

/**
 * Reads the token of `dataDir`, creating it first if there is none.
 *
 * @throws {StartupError} when the file cannot be made or read, others may read it, or it
 *   holds no usable token; the message says what to do.
 */
export async function loadOperatorToken(dataDir: string): Promise<OperatorToken> {
  const path = join(dataDir, OPERATOR_TOKEN_FILE);
  const fresh = base64url(crypto.getRandomValues(new Uint8Array(TOKEN_BYTES)));
  try {
    await Deno.writeTextFile(path, `${fresh}\n`, { createNew: true, mode: OPERATOR_TOKEN_MODE });
    await Deno.chmod(path, OPERATOR_TOKEN_MODE); // whatever the umask did
    return { path, token: fresh, created: true };
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) {
      throw new StartupError(
        `cannot create the operator token ${path}: ${describeIoError(error)}; ` +
          "check that the data directory is writable",
        { cause: error },
      );
    }
  }
  let text: string;
  let mode: number | null;
  try {
    mode = (await Deno.stat(path)).mode;
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new StartupError(
      `cannot read the operator token ${path}: ${describeIoError(error)}`,
      { cause: error },
    );
  }
  if (mode !== null && (mode & 0o077) !== 0) {
    throw new StartupError(
      `the operator token ${path} may be read by others (mode ${(mode & 0o777).toString(8)}); ` +
        `run chmod 600 ${path}, or delete it for a new one`,
    );
  }
  const token = text.trim();
  if (token.length < MIN_TOKEN_CHARS || /\s/.test(token)) {
    throw new StartupError(
      `the operator token ${path} is not a token (one line of at least ${MIN_TOKEN_CHARS} ` +
        "characters, no spaces); delete it and the server makes a new one",
    );
  }
  return { path, token, created: false };
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}
