/**
 * What the server counts for `/metrics` (SPEC §8). The device path only increments plain
 * numbers here (no allocation, no await, nothing shared with HTTP but these numbers);
 * `/metrics` renders them, with the gauges read at that moment, at most once a second
 * (`METRICS_SNAPSHOT_MS` in `operator_http.ts`). No label value is a device name:
 * labels come from fixed sets (command names, result and reason codes).
 *
 * @module
 */

import { EVENT_LOOP_PROBE_MS } from "./event_loop_lag.ts";
import { Histogram } from "./histogram.ts";
import { HourWindow } from "./hour_window.ts";
import { LabeledCounter } from "./labeled_counter.ts";
import type { MetricFamily } from "./prometheus_text.ts";
import { MAX_COUNTED_LOCKOUTS, type StoreFigures } from "./store_figures.ts";

/**
 * Upper bounds of every duration histogram (commands, event-loop lag, store commits), in
 * seconds: half a millisecond to ten seconds.
 */
export const DURATION_BOUNDS = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
] as const;

/**
 * Why the server refused a connection at accept: its caps (`server/admission.ts`), or with
 * `--proxy-protocol` its PROXY header (`server/proxied_connection.ts`).
 */
export type RefusalReason =
  | "max_connections"
  | "max_pending_logins"
  | "max_pending_per_address"
  | "proxy_header_missing"
  | "proxy_header_invalid"
  | "proxy_header_timeout";

/** The reasons of the caps, which every server may refuse for. */
const ADMISSION_REFUSALS: readonly RefusalReason[] = [
  "max_connections",
  "max_pending_logins",
  "max_pending_per_address",
];
/** The reasons of the PROXY header, for a server with `--proxy-protocol`. */
const PROXY_HEADER_REFUSALS: readonly RefusalReason[] = [
  "proxy_header_missing",
  "proxy_header_invalid",
  "proxy_header_timeout",
];

/** The server's counters; one per server, made in `startServer`. */
export class ServerMetrics {
  /** Every reason this server may refuse a connection for at accept (shown, counted or not). */
  readonly refusalReasons: readonly RefusalReason[];
  readonly logins = new LabeledCounter(["result"] as const);
  readonly commands = new LabeledCounter(["command", "result"] as const);
  readonly commandDuration = new Histogram(DURATION_BOUNDS);
  /** How late the event loop's probe timer fired (`event_loop_lag.ts`). */
  readonly eventLoopLag = new Histogram(DURATION_BOUNDS);
  /** Store commits, from their start until durable (`Store` option `commitSeconds`). */
  readonly storeCommitDuration = new Histogram(DURATION_BOUNDS);
  readonly messages = new LabeledCounter(["kind"] as const);
  readonly refusals = new LabeledCounter(["reason"] as const);
  readonly logouts = new LabeledCounter(["reason"] as const);
  uploads = 0;
  uploadBytes = 0;
  /** Uploads of the last hour (the overview), on the server's clock. */
  readonly uploadsLastHour = new HourWindow();
  /** Their bytes. */
  readonly uploadBytesLastHour = new HourWindow();
  connections = 0;
  /** Most devices online at once since start (the "stats" high-water mark). */
  devicesOnlineMax = 0;

  /** @param options `proxyProtocol`: the server reads PROXY headers (default false). */
  constructor(options: { proxyProtocol?: boolean } = {}) {
    this.refusalReasons = options.proxyProtocol
      ? [...ADMISSION_REFUSALS, ...PROXY_HEADER_REFUSALS]
      : ADMISSION_REFUSALS;
  }

  /** Counts a finished request: its command, `ok` or its error code, its time. */
  command(command: string, result: string, seconds: number): void {
    this.commands.inc({ command, result });
    this.commandDuration.observe(seconds);
  }

  /** Counts a stored upload of `bytes` at `now` (ms epoch, the server's clock). */
  uploaded(bytes: number, now: number): void {
    this.uploads++;
    this.uploadBytes += bytes;
    this.uploadsLastHour.add(now);
    this.uploadBytesLastHour.add(now, bytes);
  }

  /** Notes that `online` devices are online now (for the high-water mark). */
  online(online: number): void {
    if (online > this.devicesOnlineMax) this.devicesOnlineMax = online;
  }
}

/** Values read when the metrics are rendered, not counted. */
export interface MetricGauges {
  devicesOnline: number;
  connectionsOpen: number;
  diskOperationsWaiting: number;
  residentMemoryBytes: number;
  startTimeSeconds: number;
  version: string;
  /**
   * The store's figures read last (`store_figures.ts`), at most a few seconds old;
   * `undefined` until one read succeeded, and their gauges are left out until then.
   */
  stored: StoreFigures | undefined;
}

/**
 * The metric families of `/metrics`.
 *
 * @param metrics the server's counters.
 * @param gauges values read now.
 * @returns families in a fixed order.
 */
export function metricFamilies(metrics: ServerMetrics, gauges: MetricGauges): MetricFamily[] {
  return [
    {
      name: "iotnet_build_info",
      help: "The iotnet version running; always 1.",
      type: "gauge",
      samples: [{ labels: { version: gauges.version }, value: 1 }],
    },
    gauge("iotnet_devices_online", "Devices logged in now.", gauges.devicesOnline),
    gauge(
      "iotnet_devices_online_max",
      "Most devices logged in at once since the server started.",
      metrics.devicesOnlineMax,
    ),
    gauge("iotnet_connections_open", "Device connections held now.", gauges.connectionsOpen),
    counter(
      "iotnet_connections_total",
      "Device connections accepted (past the caps, the PROXY header and the TLS handshake).",
      metrics.connections,
    ),
    {
      name: "iotnet_connections_refused_total",
      help: "Device connections refused at accept, by reason.",
      type: "counter",
      samples: metrics.refusals.samples(),
    },
    {
      name: "iotnet_logins_total",
      help: "Login attempts, by result.",
      type: "counter",
      samples: metrics.logins.samples(),
    },
    {
      name: "iotnet_logouts_total",
      help: "Logged-in devices that left, by reason.",
      type: "counter",
      samples: metrics.logouts.samples(),
    },
    counter("iotnet_uploads_total", "Files uploaded (UED) and stored.", metrics.uploads),
    counter(
      "iotnet_upload_bytes_total",
      "Bytes of files uploaded and stored.",
      metrics.uploadBytes,
    ),
    {
      name: "iotnet_messages_total",
      help: "Messages sent between devices, by kind.",
      type: "counter",
      samples: metrics.messages.samples(),
    },
    {
      name: "iotnet_commands_total",
      help: "Requests served after login, by command and result.",
      type: "counter",
      samples: metrics.commands.samples(),
    },
    {
      name: "iotnet_command_duration_seconds",
      help: "Time from a request's arrival to its reply.",
      type: "histogram",
      samples: [metrics.commandDuration.sample()],
    },
    {
      name: "iotnet_event_loop_lag_seconds",
      help: `How late a timer set every ${EVENT_LOOP_PROBE_MS} ms fired: the event loop was busy.`,
      type: "histogram",
      samples: [metrics.eventLoopLag.sample()],
    },
    {
      name: "iotnet_store_commit_duration_seconds",
      help:
        "Store commits (SQLite: a group commit; PostgreSQL: a write), from start until durable.",
      type: "histogram",
      samples: [metrics.storeCommitDuration.sample()],
    },
    ...storeGauges(gauges.stored),
    gauge(
      "iotnet_disk_operations_waiting",
      "File operations waiting for a turn on the disk.",
      gauges.diskOperationsWaiting,
    ),
    gauge(
      "process_resident_memory_bytes",
      "Resident memory size in bytes.",
      gauges.residentMemoryBytes,
    ),
    gauge(
      "process_start_time_seconds",
      "Start time of the process since the epoch, in seconds.",
      gauges.startTimeSeconds,
    ),
  ];
}

/** The gauges of the store's figures, none before they were read. */
function storeGauges(stored: StoreFigures | undefined): MetricFamily[] {
  if (!stored) return [];
  return [
    gauge("iotnet_accounts", "Accounts in the credentials file.", stored.accounts),
    gauge("iotnet_stored_files", "Files stored (with a record in the store).", stored.storedFiles),
    gauge("iotnet_stored_samples", "Samples in the files stored.", stored.storedSamples),
    gauge("iotnet_stored_bytes", "Bytes of the files stored.", stored.storedBytes),
    gauge(
      "iotnet_offline_messages",
      "Messages waiting for devices that were offline.",
      stored.offlineMessages,
    ),
    gauge(
      "iotnet_lockouts",
      `Names blocked after failed logins now (counted up to ${MAX_COUNTED_LOCKOUTS}).`,
      stored.lockouts,
    ),
  ];
}

function gauge(name: string, help: string, value: number): MetricFamily {
  return { name, help, type: "gauge", samples: [{ value }] };
}

function counter(name: string, help: string, value: number): MetricFamily {
  return { name, help, type: "counter", samples: [{ value }] };
}
