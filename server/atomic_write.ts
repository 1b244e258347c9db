/**
 * Replacing a whole file so that a crash leaves either the old content or the new, never
 * a mix or nothing: write a temporary file beside it, fsync it, rename it over the file,
 * fsync the directory. The one way iotnet replaces a file (the active-device log, the
 * credentials file); a temporary file left by a crash ends in `TEMP_SUFFIX` and is
 * removed at the next start.
 *
 * @module
 */

import { Disk } from "./disk.ts";
import { writeAll } from "../internal/mod.ts";

/** Suffix of every temporary file the server writes; such files are removed at start. */
export const TEMP_SUFFIX = ".part";

/** Options of {@linkcode writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** The server's disk, whose turns and shared directory fsyncs the write uses. Default: a disk of its own. */
  disk?: Disk;
  /** Permission bits of the new file. Default: the process's default (0666 less the umask). */
  mode?: number;
}

/**
 * A fresh temporary path beside `path`, ending in {@linkcode TEMP_SUFFIX}.
 *
 * @example
 * ```ts
 * import { tempPathFor } from "./atomic_write.ts";
 * import assert from "node:assert/strict";
 * assert.match(tempPathFor("/data/edge-device-log.txt"), /^\/data\/edge-device-log\.txt\.[0-9a-f-]{36}\.part$/);
 * ```
 */
export function tempPathFor(path: string): string {
  return `${path}.${crypto.randomUUID()}${TEMP_SUFFIX}`;
}

/**
 * Replaces `path` with `data`: temp file → fsync → rename → fsync of the directory. On
 * failure before the rename the file is untouched and the temporary file removed.
 *
 * @param path the file to replace (or create).
 * @param data its new content.
 * @param options the disk to use and the new file's mode.
 * @throws the file system's error when a step fails.
 * @example
 * ```ts
 * import { writeFileAtomic } from "./atomic_write.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * await writeFileAtomic(path, new TextEncoder().encode("new\n"), { mode: 0o600 });
 * assert.equal(await Deno.readTextFile(path), "new\n");
 * assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
 * await Deno.remove(path);
 * ```
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const disk = options.disk ?? new Disk();
  const temp = tempPathFor(path);
  const create: Deno.OpenOptions = { write: true, createNew: true };
  if (options.mode !== undefined) create.mode = options.mode;
  try {
    await disk.run(async () => {
      using file = await Deno.open(temp, create);
      await writeAll(file, data);
      await file.sync();
    });
    await disk.run(() => Deno.rename(temp, path));
  } catch (error) {
    await disk.run(() => Deno.remove(temp)).catch(() => {});
    throw error;
  }
  await disk.syncDirectory(path);
}
