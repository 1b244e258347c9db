/**
 * Writing the credentials file, which a running server may be reading:
 * {@linkcode appendAccount} for registration, {@linkcode setAccount} for `iotnet passwd`.
 * Writers take an exclusive `flock` on the file, so they never lose each other's lines,
 * and each leaves the file whole at every instant: one appended line written with a single
 * `write` on an `O_APPEND` handle, or a complete new file put in place by
 * `writeFileAtomic`.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { writeFileAtomic } from "./atomic_write.ts";
import {
  accountLine,
  NEWLINE,
  parseCredentialsBytes,
  type SetAccountResult,
  withAccountLine,
} from "./credentials_format.ts";
import { fsyncDirectory } from "./disk.ts";

/** Permissions of a credentials file that iotnet creates: owner read/write only. */
export const CREDENTIALS_FILE_MODE = 0o600;

/** {@linkcode appendAccount} was asked to add a name that already has an account. */
export class AccountExistsError extends Error {
  override name = "AccountExistsError";
}

const encoder = new TextEncoder();

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
 * import { appendAccount } from "./credentials_writer.ts";
 * import { parseCredentials } from "./credentials_format.ts";
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
  if (created) await fsyncDirectory(dirname(resolve(path)));
}

/**
 * Sets `name`'s password: replaces its line (or adds one) and writes the whole file
 * atomically (`writeFileAtomic`), keeping every other
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
  await writeFileAtomic(path, bytes, {
    mode: mode === null ? CREDENTIALS_FILE_MODE : mode & 0o777,
  });
  return { replaced, removedDuplicates };
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
