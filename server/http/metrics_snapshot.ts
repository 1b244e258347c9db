/**
 * What `/metrics` answers: the server's counters and gauges rendered as Prometheus text,
 * taken at most once per {@linkcode SNAPSHOT_MIN_INTERVAL_MS}. A scrape between two takes
 * gets the last text: however often it is scraped, the server renders once a second.
 *
 * @module
 */

import type { Clock } from "../../internal/mod.ts";
import type { Histogram } from "./histogram.ts";
import type { ServerMetrics } from "./metrics.ts";
import { type MetricFamily, renderPrometheusText, type Sample } from "./prometheus_text.ts";

/** The shortest time between two renderings of the metrics. */
export const SNAPSHOT_MIN_INTERVAL_MS = 1_000;

/** Where the snapshot reads what is not a counter of {@linkcode ServerMetrics}. */
export interface MetricsSources {
  metrics: ServerMetrics;
  /** The server's clock: paces the snapshot. */
  clock: Clock;
  /** The program's version, for `iotnet_build_info`. */
  version: string;
  /** Start time, ms epoch. */
  startedAt: number;
  /** Connections held now, and those of them not logged in yet. */
  connections(): { open: number; pendingLogin: number };
  /** The event-loop lag histogram. */
  eventLoopLag: Histogram;
}

/** The metrics as text, rendered at most once a second. */
export class MetricsSnapshot {
  readonly #sources: MetricsSources;
  #text = "";
  #takenAt = -Infinity;

  constructor(sources: MetricsSources) {
    this.#sources = sources;
  }

  /** The exposition text: the last one if it is younger than a second, else a new one. */
  text(): string {
    const now = this.#sources.clock.now();
    if (now - this.#takenAt >= SNAPSHOT_MIN_INTERVAL_MS) {
      this.#text = renderPrometheusText(metricFamilies(this.#sources));
      this.#takenAt = now;
    }
    return this.#text;
  }
}

/** Every family `/metrics` shows, read from `sources` now. */
export function metricFamilies(sources: MetricsSources): MetricFamily[] {
  const m = sources.metrics;
  const { open, pendingLogin } = sources.connections();
  const counted = (label: string, entries: [string, number][]): Sample[] =>
    entries.map(([value, n]) => ({ labels: { [label]: value }, value: n }));
  const one = (value: number): Sample[] => [{ value }];
  return [
    {
      name: "iotnet_build_info",
      help: "The running iotnet version (always 1).",
      type: "gauge",
      samples: [{ labels: { version: sources.version }, value: 1 }],
    },
    {
      name: "process_start_time_seconds",
      help: "When the server started, seconds since the Unix epoch.",
      type: "gauge",
      samples: one(sources.startedAt / 1000),
    },
    {
      name: "process_resident_memory_bytes",
      help: "Resident memory of the server process.",
      type: "gauge",
      samples: one(Deno.memoryUsage().rss),
    },
    {
      name: "iotnet_devices_online",
      help: "Devices logged in now.",
      type: "gauge",
      samples: one(m.online),
    },
    {
      name: "iotnet_devices_online_max",
      help: "The most devices logged in at once since the server started.",
      type: "gauge",
      samples: one(m.onlineMax),
    },
    {
      name: "iotnet_connections_open",
      help: "Device-port connections held now.",
      type: "gauge",
      samples: one(open),
    },
    {
      name: "iotnet_connections_pending_login",
      help: "Device-port connections held now that have not logged in.",
      type: "gauge",
      samples: one(pendingLogin),
    },
    {
      name: "iotnet_connections_total",
      help: "Device-port connections accepted.",
      type: "counter",
      samples: one(m.connections),
    },
    {
      name: "iotnet_connections_refused_total",
      help: "Device-port connections refused at once, by the limit that refused them.",
      type: "counter",
      samples: counted("reason", m.refusals.entries()),
    },
    {
      name: "iotnet_logins_total",
      help: "Login attempts, by result (ok or the error code answered).",
      type: "counter",
      samples: counted("result", m.logins.entries()),
    },
    {
      name: "iotnet_logouts_total",
      help: "Devices that went offline, by reason.",
      type: "counter",
      samples: counted("reason", m.logouts.entries()),
    },
    {
      name: "iotnet_commands_total",
      help: "Commands served, by command and result (ok or the error code answered).",
      type: "counter",
      samples: m.commands.entries().map(([key, n]) => {
        const [command = "", result = ""] = key.split(" ");
        return { labels: { command, result }, value: n };
      }),
    },
    {
      name: "iotnet_command_duration_seconds",
      help: "Time from a command's request read to its reply queued, by command.",
      type: "histogram",
      samples: [...m.commandDurations].map(([command, h]) => h.sample({ command })),
    },
    {
      name: "iotnet_uploads_total",
      help: "Uploads stored.",
      type: "counter",
      samples: one(m.uploads),
    },
    {
      name: "iotnet_upload_bytes_total",
      help: "Bytes of the uploads stored.",
      type: "counter",
      samples: one(m.uploadBytes),
    },
    {
      name: "iotnet_messages_total",
      help: "Messages sent, by kind (direct, offline = stored for later, broadcast).",
      type: "counter",
      samples: counted("kind", m.messages.entries()),
    },
    {
      name: "iotnet_offline_messages_waiting",
      help: "Stored messages waiting for their offline recipients now.",
      type: "gauge",
      samples: one(m.offlineWaiting),
    },
    {
      name: "iotnet_offline_messages_acked_total",
      help: "Stored messages delivered and acknowledged (so forgotten by the server).",
      type: "counter",
      samples: one(m.offlineAcked),
    },
    {
      name: "iotnet_received_bytes_total",
      help: "Bytes read from device-port connections.",
      type: "counter",
      samples: one(m.receivedBytes),
    },
    {
      name: "iotnet_sent_bytes_total",
      help: "Bytes written to device-port connections.",
      type: "counter",
      samples: one(m.sentBytes),
    },
    {
      name: "iotnet_event_loop_lag_seconds",
      help: "How late a timer due every 0.5 s ran.",
      type: "histogram",
      samples: [sources.eventLoopLag.sample()],
    },
  ];
}
