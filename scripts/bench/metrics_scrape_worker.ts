/**
 * The body of {@linkcode MetricsScraper}'s worker: fetches `/metrics` with the operator token
 * on a fixed period, as Prometheus does, and times each scrape on this worker's own event
 * loop (the load test's driver falls 100 ms and more behind while it drives 1,000
 * connections; a scrape timed there would measure the driver, not the server). Not a
 * command: `metrics_scraper.ts` starts it.
 *
 * @module
 */

/// <reference lib="deno.worker" />

/** What the main thread sends: where and how often to scrape, or to stop. */
export type ScrapeCommand =
  | { type: "start"; url: string; token: string; intervalMs: number }
  | { type: "stop" };

/** One scrape: when it began (ms after the first), its time, status and body size. */
export interface Scrape {
  atMs: number;
  ms: number;
  /** HTTP status, or 0 when the request failed. */
  status: number;
  bytes: number;
  /** Why it failed, for a failed request. */
  error?: string;
}

/** What the worker sends back: `started` after its first scrape, `scrapes` after `stop`. */
export type ScrapeReport = { type: "started"; first: Scrape } | {
  type: "scrapes";
  scrapes: Scrape[];
};

/** One scrape of `url`, timed from its start to the last byte of its body. */
async function scrapeOnce(url: string, token: string, origin: number): Promise<Scrape> {
  const began = performance.now();
  try {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    const bytes = (await response.arrayBuffer()).byteLength;
    return {
      atMs: began - origin,
      ms: performance.now() - began,
      status: response.status,
      bytes,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      atMs: began - origin,
      ms: performance.now() - began,
      status: 0,
      bytes: 0,
      error: message,
    };
  }
}

if (import.meta.main) {
  const scrapes: Scrape[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();

  self.onmessage = async (event: MessageEvent<ScrapeCommand>) => {
    const command = event.data;
    if (command.type === "stop") {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
      self.postMessage({ type: "scrapes", scrapes } satisfies ScrapeReport);
      self.close();
      return;
    }
    const { url, token, intervalMs } = command;
    const origin = performance.now();
    // Scrapes start on a fixed schedule; one that overruns its period delays the next (never
    // two at once, as Prometheus never scrapes one target twice at once).
    const next = (k: number) => {
      if (stopped) return;
      timer = setTimeout(() => {
        inFlight = scrapeOnce(url, token, origin).then((scrape) => {
          scrapes.push(scrape);
          next(k + 1);
        });
      }, Math.max(0, origin + k * intervalMs - performance.now()));
    };
    const first = await scrapeOnce(url, token, origin);
    scrapes.push(first);
    self.postMessage({ type: "started", first } satisfies ScrapeReport);
    next(1);
  };
}
