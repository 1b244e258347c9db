/**
 * The server's data directory (SPEC §2): where each file lives, safe paths for names that
 * came from the network, and clearing what a crash left at start.
 *
 * @module
 */

import { join } from "node:path";
import { deviceNameProblem, MAX_FILE_ID } from "../protocol/limits.ts";
import { TEMP_SUFFIX, tempPathFor, writeFileAtomic } from "./atomic_write.ts";
import type { Disk } from "./disk.ts";

/** Paths inside one data directory. */
export class DataDir {
  /** The directory itself. */
  readonly root: string;
  /** Devices active now (SPEC §2 format). */
  readonly activeLog: string;
  /** One line per successful upload. */
  readonly uploadLog: string;
  /** One line per successful delete. */
  readonly deletionLog: string;
  /** Uploaded data files. */
  readonly uploads: string;
  /** The embedded database. */
  readonly database: string;

  constructor(root: string) {
    this.root = root;
    this.activeLog = join(root, "edge-device-log.txt");
    this.uploadLog = join(root, "upload-log.txt");
    this.deletionLog = join(root, "deletion-log.txt");
    this.uploads = join(root, "uploads");
    this.database = join(root, "iotnet.db");
  }

  /**
   * Where device `name`'s file `fileID` is stored.
   *
   * @throws {RangeError} when the name or ID could step outside `uploads/`; callers
   *   validate first, this is the last line of defence.
   */
  uploadPath(name: string, fileID: number): string {
    const problem = deviceNameProblem(name);
    if (problem) throw new RangeError(problem);
    if (!Number.isSafeInteger(fileID) || fileID < 0 || fileID > MAX_FILE_ID) {
      throw new RangeError(`file ID ${fileID} is not an integer 0..${MAX_FILE_ID}`);
    }
    return join(this.uploads, `${name}-${fileID}.txt`);
  }

  /** A fresh temporary path beside `path`, removed at the next start if left behind. */
  tempPathFor(path: string): string {
    return tempPathFor(path);
  }

  /**
   * Creates the folders, empties the active-device log and removes temporary files left
   * by a crash.
   *
   * @param disk the server's disk.
   * @returns the temporary files removed.
   */
  async prepare(disk: Disk): Promise<string[]> {
    await Deno.mkdir(this.uploads, { recursive: true });
    await writeFileAtomic(this.activeLog, new Uint8Array(0), { disk });
    const removed: string[] = [];
    for (const dir of [this.root, this.uploads]) {
      for await (const entry of Deno.readDir(dir)) {
        if (entry.isFile && entry.name.endsWith(TEMP_SUFFIX)) {
          await Deno.remove(join(dir, entry.name));
          removed.push(join(dir, entry.name));
        }
      }
    }
    return removed;
  }
}
