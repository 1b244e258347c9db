/**
 * Issue 14 item 4, "the device path never waits on HTTP", measured: the load test
 * (`load.ts`, 1,000 devices then a standard-profile login burst) run in pairs, once as
 * `deno task bench load` runs it (no operator HTTP) and once with the operator watching
 * (`--http`, a real chromium on the overview and the device list, `/metrics` scraped every
 * second: `dashboard_watch.ts`), interleaved A B A B …; the p99s of both sets side by
 * side with their medians, ranges and ratio, and what the watchers did.
 *
 * @module
 */

import { DashboardWatch, DEVICE_LIST_PAGE, type WatchStats } from "./dashboard_watch.ts";
import { formatMs, median, msNumber, percentile, sum, table } from "./helpers.ts";
import { runLoad } from "./load.ts";
import type { LoadReport } from "./load_report.ts";
import { SCRAPE_INTERVAL_MS } from "./metrics_scraper.ts";
import { measureOperatorViewCost, type OperatorViewCost } from "./operator_view_cost.ts";

/** Pairs of runs (one without the dashboard, one with) when `--pairs` is not given. */
export const DEFAULT_PAIRS = 5;

/** One load run and, when watched, what the watchers saw on each phase's server. */
interface Run {
  watched: boolean;
  report: LoadReport;
  /** Phase one's and phase two's watch, in order; empty when not watched. */
  watches: WatchStats[];
  /** Load average (1 min) when the run began. */
  load: number;
}

/** A figure compared between the two sets: its name and how to read it from a run. */
interface Compared {
  figure: string;
  value: (run: Run) => number;
  /** How a value is written. */
  format: (value: number) => string;
}

const seconds = (s: number) => `${s.toFixed(2)} s`;
const count = (n: number) => String(n);

/** The figures compared, in table order. The first two are the issue's. */
const COMPARED: Compared[] = [
  { figure: "UED p99", value: (r) => figure(r, "UED p99"), format: formatMs },
  { figure: "SCS p99", value: (r) => figure(r, "SCS p99"), format: formatMs },
  { figure: "message p99", value: (r) => figure(r, "message p50 / p99"), format: formatMs },
  { figure: "AED p99", value: (r) => figure(r, "AED p50 / p99"), format: formatMs },
  { figure: "login p99", value: (r) => figure(r, "login p50 / p99"), format: formatMs },
  {
    figure: "probe SCS p99 during the standard-profile burst",
    value: (r) => figure(r, "probe SCS p99 during the burst"),
    format: formatMs,
  },
  { figure: "failed device steps", value: (r) => r.report.failedSteps, format: count },
  {
    figure: "targets missed (of the load section's)",
    value: (r) => r.report.figures.filter((f) => f.pass === false).length,
    format: count,
  },
  {
    figure: "server CPU in the first phase",
    value: (r) => sum(r.report.cpu.map((c) => c.server)),
    format: seconds,
  },
];

/**
 * Runs `pairs` pairs of load runs, without then with the dashboard, and returns the
 * `docs/BENCHMARKS.md` section.
 *
 * @param pairs how many pairs; at least 1.
 * @returns Markdown starting with a `##` heading.
 * @throws {Error} when chromium is missing or a server or a page does not come up.
 */
export async function runLoadDashboardBench(pairs: number = DEFAULT_PAIRS): Promise<string> {
  const runs: Run[] = [];
  const loadBefore = Deno.loadavg();
  const cost = measureOperatorViewCost(1_000);
  // As in `deno task bench load`: every run's data stays until the end, so no run pays for
  // the one before it freeing its files.
  const dir = await Deno.makeTempDir({ prefix: "iotnet-load-dashboard-" });
  try {
    for (let pair = 1; pair <= pairs; pair++) {
      // Without first in odd pairs, with first in even ones (A B B A A B …): the machine's
      // other load drifts during a section, and a fixed order would hand the drift to one set.
      for (const watched of pair % 2 === 1 ? [false, true] : [true, false]) {
        const name = `pair ${pair} ${watched ? "with" : "without"}`;
        const watches: WatchStats[] = [];
        const load = Deno.loadavg()[0]!;
        const report = await runLoad({
          dir,
          keepData: true,
          progress: (line) => console.log(`${name}: ${line}`),
          ...(watched && {
            watch: {
              attach: async ({ base, token }) => {
                const watch = await DashboardWatch.attach(base, token);
                return async () => void watches.push(await watch.detach());
              },
            },
          }),
        });
        const run = { watched, report, watches, load };
        runs.push(run);
        console.log(
          `${name}: ${
            COMPARED.slice(0, 3).map((c) => `${c.figure} ${c.format(c.value(run))}`).join(", ")
          }, failed steps ${report.failedSteps}`,
        );
        for (const failure of report.failures) console.log(`${name}: failure: ${failure}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return dashboardMarkdown(runs, { pairs, loadBefore, loadAfter: Deno.loadavg(), cost });
}

/** A latency figure's p99 (or its one value) in ms; `NaN` when the run has none. */
function figure(run: Run, name: string): number {
  const found = run.report.figures.find((f) => f.figure.startsWith(name));
  return found?.p99Ms ?? found?.ms ?? NaN;
}

/** `median (min–max)` of `values` written with `format`. */
function spread(values: number[], format: (value: number) => string): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return "no samples";
  const range = `${format(Math.min(...finite))}–${format(Math.max(...finite))}`;
  return `${format(median(finite))} (${range})`;
}

/**
 * Whether the watched runs' median of a figure is inside the range of the unwatched runs:
 * the test of "within noise" this section uses.
 */
function verdict(without: number[], withDashboard: number[]): string {
  const m = median(withDashboard);
  if (m > Math.max(...without)) return "**worse beyond noise**";
  if (m < Math.min(...without)) return "better beyond noise";
  return "within noise";
}

/** The quoted failures of all runs, device names replaced, counted by kind and set. */
function failureKinds(runs: Run[]): { kind: string; without: number; watched: number }[] {
  const kinds = new Map<string, { kind: string; without: number; watched: number }>();
  for (const run of runs) {
    for (const failure of run.report.failures) {
      const kind = failure.replace(/\b(load|burst)\d+\b/g, "<device>")
        .replace(/\b127\.0\.0\.1:\d+/g, "127.0.0.1:<port>");
      const entry = kinds.get(kind) ?? { kind, without: 0, watched: 0 };
      if (run.watched) entry.watched++;
      else entry.without++;
      kinds.set(kind, entry);
    }
  }
  return [...kinds.values()].sort((a, b) => b.without + b.watched - a.without - a.watched);
}

/** The section's text. */
function dashboardMarkdown(
  runs: Run[],
  context: { pairs: number; loadBefore: number[]; loadAfter: number[]; cost: OperatorViewCost },
): string {
  const without = runs.filter((r) => !r.watched);
  const watched = runs.filter((r) => r.watched);
  const rows = COMPARED.map((c) => {
    const a = without.map(c.value);
    const b = watched.map(c.value);
    const ratio = median(b) / median(a);
    return [
      c.figure,
      spread(a, c.format),
      spread(b, c.format),
      Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "—",
      c.format === formatMs ? verdict(a, b) : "—",
    ];
  });
  const p99s = (c: Compared, set: Run[]) => set.map((r) => msNumber(c.value(r))).join(", ");
  // Runs of a pair follow each other, so they met about the same other load on the machine.
  const pairRatios = (c: Compared) => watched.map((r, i) => c.value(r) / c.value(without[i]!));
  const order = runs.map((r) => r.watched ? "with" : "without").join(", ");
  const failures = failureKinds(runs);
  const first = (r: Run) => r.watches[0];
  const phaseOne = watched.map(first).filter((w): w is WatchStats => w !== undefined);
  const all = watched.flatMap((r) => r.watches);
  const scrapes = all.flatMap((w) => w.scrapes);
  const scrapeMs = scrapes.filter((s) => s.status === 200).map((s) => s.ms);
  const failedScrapes = scrapes.filter((s) => s.status !== 200);
  const listMs = all.flatMap((w) => w.deviceListMs);
  const cores = navigator.hardwareConcurrency;
  const others = (set: Run[]) =>
    set.map((r) => {
      const wall = sum(r.report.cpu.map((c) => c.wallSeconds));
      return (100 * sum(r.report.cpu.map((c) => c.others)) / (wall * cores)).toFixed(0) + "%";
    }).join(", ");
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(", ");
  const errors = [...new Set(all.flatMap((w) => w.errors))];
  const [ued, scs, message] = COMPARED;
  const { cost } = context;
  const costMs = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
  const perSecond = cost.overviewMs + cost.metricsMs + cost.devicesPageMs + cost.searchMs;
  return [
    "## Dashboard open during the load test",
    "",
    "Issue 14: the device path never waits on HTTP. The load test above (`scripts/bench/load.ts`: 1,000",
    "devices log in, upload, ask SCS, AED and message, log out; then 100 standard-profile logins beside",
    `an SCS probe) run ${context.pairs} times as \`deno task bench load\` runs it (server without`,
    `\`--http\`) and ${context.pairs} times **with the operator watching**, interleaved in pairs, the`,
    "order swapped every pair against the drift of the machine's other load (A B B A …), one data",
    "directory for all. Watching (`scripts/bench/dashboard_watch.ts`):",
    "each server runs with `--http 0`; once it is up and before anything is measured, Debian's",
    "chromium (headless, playwright-core, the browser tests' flags and a fresh profile) logs in with",
    "the token and keeps two tabs open: the fleet overview, live over `/events` (one overview a",
    "second, the first 100 devices), and the security page (`/api/security` every 5 s) from which",
    `the device list's JSON is polled as a device list page would: \`/api/devices\`, ${DEVICE_LIST_PAGE}`,
    "devices a page, one request a second, paging on, every other one a search (`q=0`). (There is no",
    "device list page yet; these are its requests, from a real tab with the session cookie.) A worker",
    `thread of the driver scrapes \`/metrics\` with the token every ${
      SCRAPE_INTERVAL_MS / 1000
    } s,`,
    "as Prometheus would, timing each scrape on its own event loop. The browser runs on the same",
    `${cores} cores as the server and the driver: its CPU is counted below.`,
    "",
    table([
      "figure",
      "without: median (range)",
      "with the dashboard: median (range)",
      "with / without",
      "verdict",
    ], rows),
    "",
    "Within noise means the median of the runs with the dashboard lies inside the range of the runs",
    `without it. Each run's figures, in run order (${order}); the ratios are within each pair:`,
    "",
    ...[ued!, scs!, message!].flatMap((c) => [
      `- ${c.figure} (ms) without: ${p99s(c, without)}; with: ${p99s(c, watched)}; with / ` +
      `without in each pair: ${pairRatios(c).map((x) => x.toFixed(2)).join(", ")} (median ${
        median(pairRatios(c)).toFixed(2)
      }).`,
    ]),
    `- failed device steps without: ${without.map((r) => r.report.failedSteps).join(", ")}; ` +
    `with: ${watched.map((r) => r.report.failedSteps).join(", ")}.`,
    "",
    ...(failures.length > 0
      ? [
        "The failures quoted (the first 10 of each run), by kind, device names left out:",
        "",
        ...failures.map(({ kind, without, watched }) =>
          `- ${without} without, ${watched} with: \`\` ${kind} \`\``
        ),
        "",
      ]
      : []),
    `Scrapes of \`/metrics\`: ${scrapes.length} (${failedScrapes.length} failed), ` +
    (scrapeMs.length > 0
      ? `p50 ${formatMs(percentile(scrapeMs, 50))}, p99 ${formatMs(percentile(scrapeMs, 99))}, ` +
        `max ${formatMs(Math.max(...scrapeMs))}, ${
          Math.round(median(scrapes.map((s) => s.bytes)) / 1e3)
        } kB each. `
      : "none answered. ") +
    `Device list polls: ${sum(all.map((w) => w.deviceListOk))} answered, ${
      sum(all.map((w) => w.deviceListFailed))
    } failed` +
    (listMs.length > 0
      ? `, p50 ${formatMs(percentile(listMs, 50))}, p99 ${formatMs(percentile(listMs, 99))}. `
      : ". ") +
    `Overview events rendered in the first phase: ${
      phaseOne.map((w) => `${w.overviewRenders} in ${w.seconds.toFixed(1)} s`).join(", ")
    }; security page loads: ${sum(all.map((w) => w.securityLoads))}. ` +
    (errors.length > 0
      ? `HTTP answers ≥ 400 the browser got: ${errors.join(", ")}.`
      : "The browser got no HTTP answer ≥ 400."),
    "",
    `What a second of watching asks of the server's event loop, measured alone in the driver ` +
    `before the runs with the server's own functions and ${cost.devices.toLocaleString("en")} ` +
    `devices online (medians of 300): the overview event ${
      costMs(cost.overviewMs)
    }, a \`/metrics\` ` +
    `render ${costMs(cost.metricsMs)}, a device list page ${costMs(cost.devicesPageMs)}, a ` +
    `search ${costMs(cost.searchMs)}: at most ${costMs(perSecond)} of JavaScript a second ` +
    "(the device list polls a page or a search, not both; HTTP framing, in the runtime's Rust, " +
    "and the security page's store read every 5 s are not in it).",
    "",
    `Chromium's CPU while it watched the first phase: ${
      phaseOne.map((w) =>
        `${w.browserCpuSeconds.toFixed(2)} s in ${w.seconds.toFixed(1)} s (${
          (100 * w.browserCpuSeconds / (w.seconds * cores)).toFixed(0)
        }% of the machine)`
      ).join(", ")
    }. Other processes than the server and the driver (with the dashboard: chromium among them) ` +
    `used, in the first phase: without ${others(without)}; with ${others(watched)}.`,
    "",
    `Load average (1, 5, 15 min) on ${cores} cores: ${load(context.loadBefore)} before the ` +
    `section, ${load(context.loadAfter)} after; 1-minute load when each run began: without ${
      without.map((r) => r.load.toFixed(1)).join(", ")
    }; with ${watched.map((r) => r.load.toFixed(1)).join(", ")}. The machine was shared with ` +
    "other sessions: the spread of the runs without the dashboard is the noise.",
  ].join("\n");
}
