/**
 * The server's way to its file system while it serves: every file operation takes one of
 * {@linkcode DISK_OPS_IN_FLIGHT} turns (the rest wait in order), and fsyncs of one
 * directory or log are shared by everyone who asked before they started. One
 * {@linkcode Disk} per server, made in `startServer`: two servers in one process share no
 * turns.
 *
 * Why turns: Deno runs file operations on a pool of threads, and the more of them are in
 * flight the longer a connection whose request has arrived waits to be read, while timers
 * still fire on time; every operation counts, fsyncs included (docs/DECISIONS.md,
 * "Uploads take turns; file operations queue"). Only leaf operations take a turn (a call
 * never waits for a turn while holding one), so turns cannot deadlock.
 *
 * **The caller resumes in a new task** whenever other operations are in flight: code that
 * runs straight on from a finished file operation keeps sockets waiting
 * (docs/DECISIONS.md, "After a file operation the server resumes in a new task";
 * `scripts/experiments/socket_starvation.ts` shows it).
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { Coalesced, Semaphore } from "../internal/mod.ts";

/** File-system operations one server has in flight at once. */
export const DISK_OPS_IN_FLIGHT = 8;

/** One server's turns for file operations, and its shared fsyncs. */
export class Disk {
  readonly #turns: Semaphore;
  /**
   * Shared fsyncs by what they sync: `dir:` a directory, `file:` a file's data. As many
   * as the paths one server syncs (its data directory, `uploads/`, its two logs, the
   * credentials file's directory), so they are kept.
   */
  readonly #syncs = new Map<string, Coalesced<void>>();

  /** @param opsInFlight file operations allowed to run at once. */
  constructor(opsInFlight: number = DISK_OPS_IN_FLIGHT) {
    this.#turns = new Semaphore(opsInFlight);
  }

  /** File operations running now. */
  get inFlight(): number {
    return this.#turns.held;
  }
  /** File operations waiting for a turn now. */
  get waiting(): number {
    return this.#turns.waiting;
  }

  /**
   * Runs `op`, a file-system operation that does not itself wait for a turn, in its turn.
   *
   * @param op the operation.
   * @returns what `op` resolves with, in a later task of the event loop when other
   *   operations are in flight.
   * @throws whatever `op` throws; the turn is given back.
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Disk } from "./disk.ts";
   * const disk = new Disk();
   * const info = await disk.run(() => Deno.stat("."));
   * assert.ok(info.isDirectory);
   * ```
   */
  async run<T>(op: () => Promise<T>): Promise<T> {
    const turn = await this.#turns.acquire();
    try {
      return await op();
    } finally {
      turn.release();
      // Alone, an operation starves nothing, and a timer per write would slow one big
      // upload by half: only while others are in flight is the caller sent to a new task.
      if (this.#turns.held > 0) await nextTask();
    }
  }

  /**
   * `Deno.stat` in a turn.
   *
   * @returns the file's information, or `undefined` when `path` does not exist.
   */
  async stat(path: string): Promise<Deno.FileInfo | undefined> {
    try {
      return await this.run(() => Deno.stat(path));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  }

  /**
   * Fsyncs the directory holding `path`, so a rename or create in it survives a crash.
   * An fsync that *starts* after a caller's change covers it, so everyone who asks while
   * one runs shares the single one queued behind it: a thousand uploads at once cost a
   * handful of fsyncs of `uploads/`, not a thousand.
   */
  syncDirectory(path: string): Promise<void> {
    const dir = dirname(resolve(path));
    return this.#shared(`dir:${dir}`, () => this.run(() => fsyncDirectory(dir)));
  }

  /**
   * Makes every byte written to the file at `path` so far durable (`fdatasync`), shared
   * like {@linkcode syncDirectory}.
   */
  syncFileData(path: string): Promise<void> {
    const file = resolve(path);
    return this.#shared(`file:${file}`, () =>
      this.run(async () => {
        using handle = await Deno.open(file, { read: true, write: true });
        await handle.syncData();
      }));
  }

  #shared(key: string, sync: () => Promise<void>): Promise<void> {
    let shared = this.#syncs.get(key);
    if (!shared) this.#syncs.set(key, shared = new Coalesced(sync));
    return shared.run();
  }
}

/**
 * Fsyncs directory `dir` itself, at once and alone (for callers outside a server, such
 * as `iotnet passwd`; a server goes through {@linkcode Disk.syncDirectory}).
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  using handle = await Deno.open(dir, { read: true });
  await handle.sync();
}

/** Resolves in a later task of the event loop, after timers already due. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
