/**
 * A Prometheus-like scraper for the load benchmarks: `GET /metrics` with the operator token
 * every second (by default), from a worker so the driver's own event-loop lag is not in the
 * scrape times (`metrics_scrape_worker.ts`).
 *
 * @module
 */

import type { Scrape, ScrapeCommand, ScrapeReport } from "./metrics_scrape_worker.ts";

export type { Scrape };

/** How often Prometheus would scrape in the benchmark: once a second, the snapshot's age. */
export const SCRAPE_INTERVAL_MS = 1_000;

/** A running scraper. */
export class MetricsScraper {
  readonly #worker: Worker;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  /**
   * Starts scraping `url` every `intervalMs` and resolves after the first scrape.
   *
   * @param url the `/metrics` address.
   * @param token the operator token.
   * @param intervalMs time between two scrapes' starts.
   * @throws {Error} when the first scrape does not answer 200.
   */
  static async start(
    url: string,
    token: string,
    intervalMs: number = SCRAPE_INTERVAL_MS,
  ): Promise<MetricsScraper> {
    const worker = new Worker(new URL("./metrics_scrape_worker.ts", import.meta.url), {
      type: "module",
    });
    const started = nextReport(worker);
    worker.postMessage({ type: "start", url, token, intervalMs } satisfies ScrapeCommand);
    const report = await started;
    if (report.type !== "started" || report.first.status !== 200) {
      worker.terminate();
      const first = report.type === "started" ? report.first : undefined;
      throw new Error(
        `the first scrape of ${url} failed: ${first?.error ?? `status ${first?.status}`}`,
      );
    }
    return new MetricsScraper(worker);
  }

  /** Stops after the scrape in flight, if any; returns every scrape in order. */
  async stop(): Promise<Scrape[]> {
    const done = nextReport(this.#worker);
    this.#worker.postMessage({ type: "stop" } satisfies ScrapeCommand);
    const report = await done;
    this.#worker.terminate();
    return report.type === "scrapes" ? report.scrapes : [];
  }
}

/** The worker's next message (an error in it rejects). */
function nextReport(worker: Worker): Promise<ScrapeReport> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<ScrapeReport>) => resolve(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      reject(new Error(`the metrics scraper failed: ${event.message}`));
    };
  });
}
