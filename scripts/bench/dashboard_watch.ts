/**
 * An operator watching a server through its operator HTTP while a load benchmark runs
 * (issue 14 item 4): a real headless chromium (`tests/_helpers/chromium.ts`) logged in with
 * the token, one tab on the fleet overview (live over `/events`), one on the security page
 * (which reloads `/api/security` every 5 s) that also polls the device list's JSON,
 * `/api/devices`, one page of 50 a second, paging on and searching every other time; and a
 * Prometheus-like scrape of `/metrics` every second (`metrics_scraper.ts`). What each saw
 * comes back from {@linkcode DashboardWatch.detach}, with the browser's CPU time.
 *
 * @module
 */

import type { Page } from "playwright-core";
import { type Chromium, launchChromium, openDashboard } from "../../tests/_helpers/chromium.ts";
import { descendantsCpuSeconds } from "./machine.ts";
import { MetricsScraper, type Scrape } from "./metrics_scraper.ts";

/** How often the device-list tab asks `/api/devices`. */
export const DEVICE_LIST_POLL_MS = 1_000;
/** Devices in one page the device-list tab asks for. */
export const DEVICE_LIST_PAGE = 50;
/** How long the pages may take to come up (chromium's start included). */
const READY_TIMEOUT_MS = 30_000;
/** Chromium's processes, by command name (the browser, its renderers and helpers). */
const CHROMIUM_PROCESS = /^chrom/;

/** What the watchers did while attached. */
export interface WatchStats {
  /** Wall seconds from the pages being up to the detach. */
  seconds: number;
  /** Every `/metrics` scrape, in order. */
  scrapes: Scrape[];
  /** `overview` events the overview tab rendered. */
  overviewRenders: number;
  /** The device-list tab's `/api/devices` requests: answered, failed, and their times. */
  deviceListOk: number;
  deviceListFailed: number;
  deviceListMs: number[];
  /** `/api/security` answers the security page got. */
  securityLoads: number;
  /** Responses the browser got with a status of 400 or more, by path. */
  errors: string[];
  /** CPU seconds chromium (all its processes) spent while attached, after the pages were up. */
  browserCpuSeconds: number;
}

/** Counters the bench puts into the pages (read back by `detach`). */
const COUNT_RENDERS = `(() => {
  window.iotnetBenchRenders = 0;
  new MutationObserver(() => window.iotnetBenchRenders++)
    .observe(document.body, { attributes: true, attributeFilter: ["data-updated"] });
})()`;
const POLL_DEVICE_LIST = `(() => {
  const polls = window.iotnetBenchPolls = { ok: 0, failed: 0, ms: [], stopped: false };
  let offset = 0;
  let n = 0;
  const poll = async () => {
    const search = n++ % 2 === 1 ? "&q=0" : "";
    const began = performance.now();
    try {
      const answer = await fetch("/api/devices?offset=" + offset + "&limit=${DEVICE_LIST_PAGE}" + search);
      const page = await answer.json();
      if (!answer.ok) throw new Error(page.error);
      polls.ms.push(performance.now() - began);
      polls.ok++;
      document.body.dataset.benchPolls = String(polls.ok);
      offset = offset + ${DEVICE_LIST_PAGE} < page.total ? offset + ${DEVICE_LIST_PAGE} : 0;
    } catch {
      polls.failed++;
    }
    if (!polls.stopped) setTimeout(poll, ${DEVICE_LIST_POLL_MS});
  };
  poll();
})()`;

/** A browser and a scraper watching one server. */
export class DashboardWatch {
  readonly #browser: Chromium;
  readonly #overview: Page;
  readonly #list: Page;
  readonly #scraper: MetricsScraper;
  readonly #since: number;
  readonly #cpuAtStart: number;
  readonly #errors: string[];
  readonly #securityLoads: { count: number };

  private constructor(parts: {
    browser: Chromium;
    overview: Page;
    list: Page;
    scraper: MetricsScraper;
    errors: string[];
    securityLoads: { count: number };
  }) {
    this.#browser = parts.browser;
    this.#overview = parts.overview;
    this.#list = parts.list;
    this.#scraper = parts.scraper;
    this.#errors = parts.errors;
    this.#securityLoads = parts.securityLoads;
    this.#since = performance.now();
    this.#cpuAtStart = browserCpu();
  }

  /**
   * Opens the pages and starts the scraper; resolves once the overview is live, the
   * security page and the device list have loaded and `/metrics` has answered.
   *
   * @param base `http://host:port` of the server's operator HTTP.
   * @param token the operator token.
   * @throws {Error} when chromium is missing or a page does not come up in 30 s.
   */
  static async attach(base: string, token: string): Promise<DashboardWatch> {
    const browser = await launchChromium();
    try {
      const errors: string[] = [];
      const securityLoads = { count: 0 };
      browser.context.on("response", (response) => {
        const path = new URL(response.url()).pathname;
        if (response.status() >= 400) errors.push(`${response.status()} ${path}`);
        else if (path === "/api/security") securityLoads.count++;
      });
      const overview = await openDashboard(browser.context, base, token);
      await overview.waitForSelector("#status:text('live')", { timeout: READY_TIMEOUT_MS });
      await overview.evaluate(COUNT_RENDERS);
      const list = await browser.context.newPage();
      await list.goto(`${base}/security`);
      await list.waitForSelector("body[data-updated]", { timeout: READY_TIMEOUT_MS });
      await list.evaluate(POLL_DEVICE_LIST);
      // Not waitForFunction: it evaluates its predicate in the page, which the CSP forbids.
      await list.waitForSelector("body[data-bench-polls]", { timeout: READY_TIMEOUT_MS });
      const scraper = await MetricsScraper.start(`${base}/metrics`, token);
      errors.splice(0); // the login page's 401, before the token was given
      return new DashboardWatch({ browser, overview, list, scraper, errors, securityLoads });
    } catch (error) {
      await browser[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** Stops the scraper and the polling, closes the browser, and says what they did. */
  async detach(): Promise<WatchStats> {
    const seconds = (performance.now() - this.#since) / 1000;
    const browserCpuSeconds = browserCpu() - this.#cpuAtStart;
    try {
      const scrapes = await this.#scraper.stop();
      const polls = await this.#list.evaluate(`(() => {
        window.iotnetBenchPolls.stopped = true;
        return window.iotnetBenchPolls;
      })()`) as { ok: number; failed: number; ms: number[] };
      const overviewRenders = await this.#overview.evaluate("window.iotnetBenchRenders") as number;
      return {
        seconds,
        scrapes,
        overviewRenders,
        deviceListOk: polls.ok,
        deviceListFailed: polls.failed,
        deviceListMs: polls.ms,
        securityLoads: this.#securityLoads.count,
        errors: [...this.#errors],
        browserCpuSeconds,
      };
    } finally {
      await this.#browser[Symbol.asyncDispose]();
    }
  }
}

/** CPU seconds so far of the chromium processes this process started. */
function browserCpu(): number {
  return descendantsCpuSeconds(Deno.pid, CHROMIUM_PROCESS);
}
