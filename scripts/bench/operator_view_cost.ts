/**
 * What one second of an operator watching costs the server's event loop, measured alone:
 * the JavaScript the server runs for the overview event (`/events`), a `/metrics` render
 * and a `/api/devices` page, with a fleet of devices online, each timed in this process
 * (the same functions the server calls, `server/http/`). HTTP framing (Rust, in the
 * runtime) is not in it. A figure the machine's other load hardly moves, beside the load
 * runs' p99s, which it moves a lot.
 *
 * @module
 */

import { pageDevices, parseDeviceQuery } from "../../server/http/devices_api.ts";
import { fleetOverview } from "../../server/http/overview.ts";
import { renderPrometheusText } from "../../server/http/prometheus_text.ts";
import { metricFamilies, ServerMetrics } from "../../server/http/server_metrics.ts";
import { median } from "./helpers.ts";
import type { StoreFigures } from "../../server/http/store_figures.ts";

/** The store's figures as the overview and /metrics show them (read every few seconds, not timed). */
const FIGURES: StoreFigures = {
  accounts: 1_000,
  storedFiles: 1_000,
  storedSamples: 1_000_000,
  storedBytes: 7_000_000,
  offlineMessages: 0,
  lockouts: 0,
  lockoutsMore: false,
  at: 0,
};

/** Median milliseconds of each piece of work the operator view asks of the server. */
export interface OperatorViewCost {
  devices: number;
  /** One `overview` event: the overview taken and written as an SSE event. */
  overviewMs: number;
  /** One `/metrics` text rendered (with the resident memory read, as the server does). */
  metricsMs: number;
  /** One `/api/devices` page of 50 in the middle of the list, as JSON. */
  devicesPageMs: number;
  /** One `/api/devices?q=…` search over every device, as JSON. */
  searchMs: number;
}

/** Timed repetitions of each piece (after as many to warm the JIT up). */
const ROUNDS = 300;

/**
 * Times each piece {@linkcode ROUNDS} times with `devices` devices online and counters
 * like those of a load run.
 *
 * @param devices devices online.
 * @returns the medians.
 */
export function measureOperatorViewCost(devices: number): OperatorViewCost {
  const online = Array.from({ length: devices }, (_, i) => ({
    name: `load${String(i).padStart(4, "0")}`,
    since: Date.now() - i,
    ip: "127.0.0.1",
    udpPort: 9,
  }));
  const metrics = new ServerMetrics();
  for (const command of ["upload", "compute", "devices", "message", "udp_port", "logout"]) {
    for (let i = 0; i < 50; i++) metrics.command(command, "ok", i / 1000);
    metrics.command(command, "not_found", 0.001);
  }
  metrics.logins.inc({ result: "ok" });
  metrics.logins.inc({ result: "bad_credentials" });
  metrics.logouts.inc({ reason: "logout" });
  metrics.messages.inc({ kind: "direct" });
  metrics.online(devices);
  const encoder = new TextEncoder();
  const page = parseDeviceQuery(new URLSearchParams(`offset=${devices >> 1}&limit=50`));
  const search = parseDeviceQuery(new URLSearchParams("q=07&limit=50"));
  if (typeof page === "string" || typeof search === "string") throw new Error(String(page));
  return {
    devices,
    overviewMs: time(() => {
      const overview = fleetOverview({
        metrics,
        devices: () => [...online],
        eventLoopLagMs: () => 0,
        storeFigures: () => FIGURES,
        now: Date.now(),
      });
      encoder.encode(`event: overview\ndata: ${JSON.stringify(overview)}\n\n`);
    }),
    metricsMs: time(() =>
      renderPrometheusText(metricFamilies(metrics, {
        devicesOnline: devices,
        connectionsOpen: devices,
        diskOperationsWaiting: 0,
        residentMemoryBytes: Deno.memoryUsage().rss,
        startTimeSeconds: 0,
        version: "bench",
        stored: FIGURES,
      }))
    ),
    devicesPageMs: time(() => JSON.stringify(pageDevices([...online], page))),
    searchMs: time(() => JSON.stringify(pageDevices([...online], search))),
  };
}

/** Median ms of `fn` over {@linkcode ROUNDS} runs, after as many unmeasured. */
function time(fn: () => unknown): number {
  for (let i = 0; i < ROUNDS; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const began = performance.now();
    fn();
    times.push(performance.now() - began);
  }
  return median(times);
}
