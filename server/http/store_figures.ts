/**
 * The overview's figures that come from the store and the credentials file: accounts,
 * stored files / samples / bytes, offline messages waiting and lockouts running. They are
 * read together, at most once every {@linkcode STORE_FIGURES_MS} of the server's clock and
 * only when asked for (while a page watches or `/metrics` is scraped), one read at a time;
 * between reads the last one is shown. The reads are bounded: SQLite keeps the totals as it
 * writes (one row), PostgreSQL aggregates in the database, lockouts are counted through an
 * index up to {@linkcode MAX_COUNTED_LOCKOUTS}, and the accounts are the credentials
 * file's map, read again only when the file changed.
 *
 * @module
 */

import type { Clock } from "../../internal/mod.ts";
import type { FileRecords, Lockouts, Mailbox } from "../store/interfaces.ts";

/** Longest the store figures are shown before they are read again. */
export const STORE_FIGURES_MS = 5_000;
/** Running lockouts counted; past this many the overview says "more". */
export const MAX_COUNTED_LOCKOUTS = 10_000;

/** The figures, as read at `at`. */
export interface StoreFigures {
  /** Accounts in the credentials file. */
  accounts: number;
  /** Files with a record (every node's, in a network). */
  storedFiles: number;
  storedSamples: number;
  storedBytes: number;
  /** Messages waiting for devices that were offline. */
  offlineMessages: number;
  /** Lockouts running, at most {@linkcode MAX_COUNTED_LOCKOUTS}. */
  lockouts: number;
  /** Whether more than {@linkcode MAX_COUNTED_LOCKOUTS} run. */
  lockoutsMore: boolean;
  /** When they were read (ms epoch, the server's clock). */
  at: number;
}

/** Where the figures are read from. */
export interface StoreFigureSources {
  files: Pick<FileRecords, "totals">;
  mailbox: Pick<Mailbox, "waiting">;
  lockouts: Pick<Lockouts, "running">;
  /** How many accounts there are. */
  accounts(): Promise<number>;
}

/** Reads the figures at `now` (ms epoch). */
export async function readStoreFigures(
  sources: StoreFigureSources,
  now: number,
): Promise<StoreFigures> {
  const [accounts, totals, offlineMessages, lockouts] = await Promise.all([
    sources.accounts(),
    sources.files.totals(),
    sources.mailbox.waiting(),
    sources.lockouts.running(now, MAX_COUNTED_LOCKOUTS + 1),
  ]);
  return {
    accounts,
    storedFiles: totals.files,
    storedSamples: totals.samples,
    storedBytes: totals.bytes,
    offlineMessages,
    lockouts: Math.min(lockouts, MAX_COUNTED_LOCKOUTS),
    lockoutsMore: lockouts > MAX_COUNTED_LOCKOUTS,
    at: now,
  };
}

/** The last figures read, and a new read when they are {@linkcode STORE_FIGURES_MS} old. */
export class StoreFiguresCache {
  readonly #clock: Clock;
  readonly #read: (now: number) => Promise<StoreFigures>;
  readonly #onError: (message: string) => void;
  #latest: StoreFigures | undefined;
  /** When the last read started (ms epoch), whether it succeeded or not. */
  #started = -Infinity;
  #reading: Promise<void> | undefined;

  /**
   * @param clock the server's clock.
   * @param read one read of the figures at `now`.
   * @param onError told why a read failed (the figures read before stay shown).
   */
  constructor(
    clock: Clock,
    read: (now: number) => Promise<StoreFigures>,
    onError: (message: string) => void,
  ) {
    this.#clock = clock;
    this.#read = read;
    this.#onError = onError;
  }

  /**
   * The figures read last, or `undefined` before the first read ends; starts a read (not
   * waited for) when they are {@linkcode STORE_FIGURES_MS} old and none is under way.
   */
  latest(): StoreFigures | undefined {
    this.#refresh();
    return this.#latest;
  }

  /**
   * The figures, read anew first when they are {@linkcode STORE_FIGURES_MS} old (waiting
   * for the read under way, if any); the last ones read, or `undefined`, when that fails.
   */
  async current(): Promise<StoreFigures | undefined> {
    await this.#refresh();
    return this.#latest;
  }

  #refresh(): Promise<void> | undefined {
    const now = this.#clock.now();
    if (this.#reading === undefined && now - this.#started >= STORE_FIGURES_MS) {
      this.#started = now;
      this.#reading = this.#read(now).then(
        (figures) => {
          this.#latest = figures;
        },
        (error) => this.#onError(firstLine(error instanceof Error ? error.message : String(error))),
      ).finally(() => this.#reading = undefined);
    }
    return this.#reading;
  }
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0]!;
}
