/**
 * Gauges read from the store rather than counted by sessions: what other servers of a
 * network change too. Read once per {@linkcode STORE_GAUGES_INTERVAL_MS} on the server's
 * clock while the HTTP port runs, never per scrape: `/metrics` and the overview show the
 * last reading.
 *
 * @module
 */

import type { Clock, TimerId } from "../../internal/mod.ts";
import type { Mailbox } from "../store/interfaces.ts";
import type { ServerMetrics } from "./metrics.ts";

/** Time between two readings. */
export const STORE_GAUGES_INTERVAL_MS = 1_000;

/** What {@linkcode StoreGauges} reads and where it writes. */
export interface StoreGaugesOptions {
  clock: Clock;
  mailbox: Pick<Mailbox, "count">;
  metrics: ServerMetrics;
  /** Told when a reading fails (the last value stays). */
  log(line: string): void;
}

/** Reads the store's gauges into the metrics until disposed of. */
export class StoreGauges implements Disposable {
  readonly #options: StoreGaugesOptions;
  #timer: TimerId | undefined;
  #stopped = false;
  /** Whether the last reading failed, so a lasting failure is logged once. */
  #failing = false;

  private constructor(options: StoreGaugesOptions) {
    this.#options = options;
  }

  /** Takes a first reading, then one per interval. */
  static async start(options: StoreGaugesOptions): Promise<StoreGauges> {
    const gauges = new StoreGauges(options);
    await gauges.#read();
    gauges.#schedule();
    return gauges;
  }

  async #read(): Promise<void> {
    const { mailbox, metrics, log } = this.#options;
    try {
      metrics.offlineWaiting = await mailbox.count();
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) {
        log(`cannot count the offline messages for the metrics: ${(error as Error).message}`);
      }
      this.#failing = true;
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#options.clock.setTimeout(async () => {
      await this.#read();
      this.#schedule();
    }, STORE_GAUGES_INTERVAL_MS);
  }

  [Symbol.dispose](): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
  }
}
