/**
 * One server per data directory (SPEC §6): a server holds an exclusive lock on
 * `<data-dir>/server.lock` for as long as it runs, with its process id written in the
 * file, so a second server refuses to start and says which process holds the directory.
 *
 * The lock is the kernel's (`flock`, through `Deno.FsFile.tryLock`), not the file's
 * existence: it goes with the process, so a server killed with SIGKILL leaves the file,
 * with a stale pid in it, but no lock, and the next server takes the directory over. The
 * file is never removed, so two servers can never lock two different files of that name.
 *
 * @module
 */

import { join } from "node:path";
import { writeAll } from "../internal/mod.ts";
import { StartupError } from "./startup_error.ts";

/** Name of the lock file in the data directory. */
export const LOCK_FILE_NAME = "server.lock";

/** The data directory is held by another running server. */
export class DataDirInUseError extends StartupError {
  /** The holder's process id, when its lock file names one. */
  readonly pid: number | undefined;

  /**
   * Makes the error.
   *
   * @param dir the data directory.
   * @param pid the holder's process id, when its lock file names one.
   */
  constructor(dir: string, pid: number | undefined) {
    const holder = pid === undefined
      ? "another iotnet server"
      : `another iotnet server (pid ${pid})`;
    super(
      `data directory ${dir} is in use by ${holder}; stop it, or give this server another --data-dir`,
    );
    this.pid = pid;
  }
}

/** A held data directory; disposing of it lets another server have it. */
export interface DataDirLock extends Disposable {
  /** The lock file. */
  readonly path: string;
}

/**
 * Takes the data directory `dir` for this process.
 *
 * @param dir an existing directory.
 * @returns the held lock.
 * @throws {DataDirInUseError} when another process holds it.
 * @throws {Deno.errors.PermissionDenied} (and other file errors) when the lock file cannot
 *   be opened.
 */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  const path = join(dir, LOCK_FILE_NAME);
  const file = await Deno.open(path, { read: true, write: true, create: true });
  try {
    if (!(await file.tryLock(true))) throw new DataDirInUseError(dir, await holderOf(path));
    await file.truncate(0);
    const pid = new TextEncoder().encode(`${Deno.pid}\n`);
    await writeAll(file, pid);
  } catch (error) {
    file.close();
    throw error;
  }
  return {
    path,
    [Symbol.dispose]() {
      // Closing the file releases the lock.
      file.close();
    },
  };
}

/** The pid written in a lock file, if it holds one. */
async function holderOf(path: string): Promise<number | undefined> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return /^\d+\n$/.test(text) ? Number(text) : undefined;
}
