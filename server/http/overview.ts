/**
 * The fleet overview the dashboard shows and the live feed sends: the metrics' headline
 * numbers, uploads of the last hour, the store's figures (read every few seconds,
 * `store_figures.ts`) and the first devices online, as one JSON-ready object.
 *
 * @module
 */

import type { ServerMetrics } from "./server_metrics.ts";
import type { StoreFigures } from "./store_figures.ts";

/** Devices listed in one overview; the rest are counted and paged through `/api/devices`. */
export const MAX_OVERVIEW_DEVICES = 100;

/** What the overview shows. */
export interface FleetOverview {
  online: number;
  onlineMax: number;
  connections: number;
  logins: number;
  failedLogins: number;
  uploads: number;
  uploadBytes: number;
  /** Uploads stored in the last hour (`hour_window.ts`: the last 59 to 60 minutes). */
  uploadsLastHour: number;
  uploadBytesLastHour: number;
  messages: number;
  /**
   * The store's figures and the accounts, as read last (`null` until the first read ends),
   * with `at` as ISO 8601: at most `STORE_FIGURES_MS` (5 s) old while someone watches.
   */
  stored: (Omit<StoreFigures, "at"> & { at: string }) | null;
  /** The event loop's worst lag of the last seconds, in ms (`event_loop_lag.ts`). */
  eventLoopLagMs: number;
  /** The first {@linkcode MAX_OVERVIEW_DEVICES} devices online, oldest login first. */
  devices: { name: string; since: string; ip: string; udpPort: number }[];
}

/** Where the overview is read from. */
export interface OverviewSources {
  metrics: ServerMetrics;
  /** Devices online now, oldest login first. */
  devices(): readonly { name: string; since: number; ip: string; udpPort: number }[];
  /** The event loop's worst lag of the last seconds, in ms. */
  eventLoopLagMs(): number;
  /** The store's figures read last, if any (`StoreFiguresCache.latest`). */
  storeFigures(): StoreFigures | undefined;
  /** Now (ms epoch, the server's clock). */
  now: number;
}

/** The overview now. */
export function fleetOverview(sources: OverviewSources): FleetOverview {
  const m = sources.metrics;
  const sum = (samples: { value: number }[]) => samples.reduce((total, s) => total + s.value, 0);
  const devices = sources.devices();
  const logins = m.logins.get({ result: "ok" });
  const stored = sources.storeFigures();
  return {
    online: devices.length,
    onlineMax: m.devicesOnlineMax,
    connections: m.connections,
    logins,
    failedLogins: sum(m.logins.samples()) - logins,
    uploads: m.uploads,
    uploadBytes: m.uploadBytes,
    uploadsLastHour: m.uploadsLastHour.total(sources.now),
    uploadBytesLastHour: m.uploadBytesLastHour.total(sources.now),
    messages: sum(m.messages.samples()),
    stored: stored ? { ...stored, at: new Date(stored.at).toISOString() } : null,
    eventLoopLagMs: sources.eventLoopLagMs(),
    devices: devices.slice(0, MAX_OVERVIEW_DEVICES).map((d) => ({
      name: d.name,
      since: new Date(d.since).toISOString(),
      ip: d.ip,
      udpPort: d.udpPort,
    })),
  };
}
