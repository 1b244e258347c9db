/**
 * The operator token (SPEC §8): `<data-dir>/operator-token`, made at the first start with
 * `--http` (mode 0600, 32 random bytes as base64url), read at every later start. Its
 * content is never printed or logged; its path is.
 *
 * @module
 */

import { join } from "node:path";

/** The token file's name in the data directory. */
export const OPERATOR_TOKEN_FILE = "operator-token";
/** The token file's mode: the server's user alone may read it. */
export const OPERATOR_TOKEN_MODE = 0o600;
/** Shortest token accepted from an existing file, in characters. */
export const MIN_OPERATOR_TOKEN_CHARS = 32;

/** The token and where it lives. */
export interface OperatorToken {
  path: string;
  token: string;
  /** Whether this start created it. */
  created: boolean;
}

/**
 * Reads the data directory's operator token, creating it if missing.
 *
 * @throws {Error} saying what to do when the file is too short or cannot be read or made.
 */
export async function loadOperatorToken(dataDir: string): Promise<OperatorToken> {
  const path = join(dataDir, OPERATOR_TOKEN_FILE);
  const token = base64url(crypto.getRandomValues(new Uint8Array(32)));
  try {
    await Deno.writeTextFile(path, token + "\n", { createNew: true, mode: OPERATOR_TOKEN_MODE });
    await Deno.chmod(path, OPERATOR_TOKEN_MODE); // whatever the umask
    return { path, token, created: true };
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  const existing = (await Deno.readTextFile(path)).trim();
  if (existing.length < MIN_OPERATOR_TOKEN_CHARS) {
    throw new Error(
      `the operator token in ${path} is shorter than ${MIN_OPERATOR_TOKEN_CHARS} characters; ` +
        "delete the file and the server makes a new one",
    );
  }
  return { path, token: existing, created: false };
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replaceAll("=", "");
}
