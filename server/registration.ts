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
import { AccountExistsError, appendAccount } from "./credentials.ts";
import { hashPassword } from "./password_hash.ts";

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

/**
 * Creates the account `name` with `password`.
 *
 * @throws {BadArgumentsError} for an unusable password.
 * @throws {BadCredentialsError} when the name was registered meanwhile.
 */
export async function registerAccount(
  credentialsPath: string,
  name: string,
  password: string,
): Promise<void> {
  const problem = newPasswordProblem(password);
  if (problem) throw new BadArgumentsError(`cannot register ${name}: ${problem}`);
  try {
    await appendAccount(credentialsPath, name, await hashPassword(password));
  } catch (error) {
    if (error instanceof AccountExistsError) {
      throw new BadCredentialsError(BAD_CREDENTIALS_MESSAGE);
    }
    throw error;
  }
}
