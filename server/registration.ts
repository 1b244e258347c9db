/**
 * Registration (`--allow-registration`, SPEC §4): an unknown, well-formed device name may
 * create its account by choosing a password. The password is stored hashed, appended to
 * the credentials file while the server runs (`appendAccount` serialises appends).
 *
 * @module
 */

import { BadArgumentsError, BadCredentialsError } from "../protocol/errors.ts";
import { MAX_PASSWORD_BYTES } from "../protocol/limits.ts";
import { BAD_CREDENTIALS_MESSAGE } from "./auth.ts";
import { AccountExistsError, appendAccount } from "./credentials_writer.ts";
import type { PasswordHasher } from "./password_hash.ts";

/** Why a chosen password cannot be stored, or `undefined` when it can. */
export function newPasswordProblem(password: string): string | undefined {
  if (password.length === 0) return "the password is empty";
  if (new TextEncoder().encode(password).length > MAX_PASSWORD_BYTES) {
    return `the password is longer than ${MAX_PASSWORD_BYTES} bytes`;
  }
  if ([...password].some((c) => c <= " " || c === "\x7f")) {
    return "the password may not contain spaces or control characters";
  }
  return undefined;
}

/** Where {@linkcode registerAccount} writes, and how it hashes. */
export interface RegistrationOptions {
  /** The credentials file. */
  credentialsPath: string;
  /** The server's hasher. */
  hasher: PasswordHasher;
}

/**
 * Creates the account `name` with `password`.
 *
 * @throws {BadArgumentsError} for an unusable password.
 * @throws {BadCredentialsError} when the name was registered meanwhile.
 */
export async function registerAccount(
  name: string,
  password: string,
  options: RegistrationOptions,
): Promise<void> {
  const problem = newPasswordProblem(password);
  if (problem) throw new BadArgumentsError(`cannot register ${name}: ${problem}`);
  try {
    await appendAccount(options.credentialsPath, name, await options.hasher.hash(password));
  } catch (error) {
    if (error instanceof AccountExistsError) {
      throw new BadCredentialsError(BAD_CREDENTIALS_MESSAGE);
    }
    throw error;
  }
}
