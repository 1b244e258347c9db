/**
 * The fleet overview the dashboard shows and the live feed sends: the metrics' headline
 * numbers and the first devices online, as one JSON-ready object.
 *
 * @module
 */

import type { ServerMetrics } from "./metrics.ts";

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
  messages: number;
  /** Stored messages waiting for offline devices. */
  offlineWaiting: number;
  /** The last event-loop lag seen, seconds. */
  eventLoopLagSeconds: number;
  /** The first {@linkcode MAX_OVERVIEW_DEVICES} devices online, oldest login first. */
  devices: { name: string; since: string; ip: string; udpPort: number }[];
}

/** Where the overview is read from. */
export interface OverviewSources {
  metrics: ServerMetrics;
  devices(): readonly { name: string; since: number; ip: string; udpPort: number }[];
  eventLoopLagSeconds(): number;
}

/** The overview now. */
export function fleetOverview(sources: OverviewSources): FleetOverview {
  const m = sources.metrics;
  const sum = (entries: [string, number][]) => entries.reduce((total, [, n]) => total + n, 0);
  const logins = m.logins.entries();
  return {
    online: m.online,
    onlineMax: m.onlineMax,
    connections: m.connections,
    logins: m.logins.get("ok"),
    failedLogins: sum(logins) - m.logins.get("ok"),
    uploads: m.uploads,
    uploadBytes: m.uploadBytes,
    messages: sum(m.messages.entries()),
    offlineWaiting: m.offlineWaiting,
    eventLoopLagSeconds: sources.eventLoopLagSeconds(),
    devices: sources.devices().slice(0, MAX_OVERVIEW_DEVICES).map((d) => ({
      name: d.name,
      since: new Date(d.since).toISOString(),
      ip: d.ip,
      udpPort: d.udpPort,
    })),
  };
}
