/**
 * `GET /api/devices/<name>`: one device for its page: whether it is online (since when,
 * from which IP and UDP port), when it was last recorded online, its latest visits (login,
 * logout, how long, why it left) and its stored files with their four aggregates. Read
 * from the registry of active devices and three bounded store reads
 * (`FileRecords.ofDevice`, `PresenceHistory.lastSeen`, `PresenceHistory.visits`); no data
 * file is read.
 *
 * @module
 */

import { deviceNameProblem } from "../../protocol/limits.ts";
import type {
  FileRecords,
  PresenceHistory,
  PresenceVisit,
  StoredFile,
} from "../store/interfaces.ts";

/** The most files one answer lists (lowest file IDs first); `more` says when there are others. */
export const MAX_DEVICE_FILES = 200;
/** The most visits one answer lists (the latest). */
export const MAX_DEVICE_VISITS = 50;

/** A visit as the device page shows it. */
export interface VisitRow {
  /** Login, ISO 8601. */
  since: string;
  /** Logout, ISO 8601; `null` while online or when no logout was recorded. */
  until: string | null;
  /** Seconds online: to the logout, to now for the visit under way; `null` when unknown. */
  seconds: number | null;
  /** Why it left (a logout reason), `null` with `until`. */
  reason: string | null;
  ip: string;
  /** Whether this is the device's session now. */
  current: boolean;
}

/** A file as the device page shows it. */
export interface DeviceFileRow {
  fileID: number;
  count: number;
  /** The exact sum, as decimal text (it may pass 2^53). */
  sum: string;
  min: number;
  max: number;
  bytes: number;
  /** ISO 8601. */
  uploadedAt: string;
}

/** The answer. */
export interface DeviceDetail {
  name: string;
  /** Its session now, or `null` when offline. */
  online: { since: string; ip: string; udpPort: number } | null;
  /** When it was last recorded online (ISO 8601), or `null` if never. */
  lastSeen: string | null;
  /** The latest {@linkcode MAX_DEVICE_VISITS} visits, the latest first. */
  visits: VisitRow[];
  files: DeviceFileRow[];
  /** Whether it has more than {@linkcode MAX_DEVICE_FILES} files. */
  more: boolean;
}

/** Where the answer is read from. */
export interface DeviceSources {
  online(name: string): { since: number; ip: string; udpPort: number } | undefined;
  files: Pick<FileRecords, "ofDevice">;
  presence: Pick<PresenceHistory, "lastSeen" | "visits">;
  /** The time now (ms epoch): how long the visit under way has lasted. */
  now: number;
}

/**
 * The device page's data for `name`.
 *
 * @returns the detail, or a sentence saying why `name` is not a device name.
 */
export async function deviceDetail(
  name: string,
  sources: DeviceSources,
): Promise<DeviceDetail | string> {
  const problem = deviceNameProblem(name);
  if (problem) return problem;
  const [files, lastSeen, visits] = await Promise.all([
    sources.files.ofDevice(name, MAX_DEVICE_FILES + 1),
    sources.presence.lastSeen(name),
    sources.presence.visits(name, MAX_DEVICE_VISITS),
  ]);
  const session = sources.online(name);
  return {
    name,
    online: session
      ? { since: iso(session.since), ip: session.ip, udpPort: session.udpPort }
      : null,
    lastSeen: lastSeen === undefined ? null : iso(lastSeen),
    visits: visits.map((visit) => visitRow(visit, { session, now: sources.now })),
    files: files.slice(0, MAX_DEVICE_FILES).map(fileRow),
    more: files.length > MAX_DEVICE_FILES,
  };
}

function visitRow(
  visit: PresenceVisit,
  { session, now }: { session: { since: number } | undefined; now: number },
): VisitRow {
  const current = visit.until === null && session?.since === visit.since;
  const end = visit.until ?? (current ? now : undefined);
  return {
    since: iso(visit.since),
    until: visit.until === null ? null : iso(visit.until),
    seconds: end === undefined ? null : Math.max(0, Math.round((end - visit.since) / 1000)),
    reason: visit.reason,
    ip: visit.ip,
    current,
  };
}

function fileRow(file: StoredFile): DeviceFileRow {
  return {
    fileID: file.fileID,
    count: file.count,
    sum: file.sum.toString(),
    min: file.min,
    max: file.max,
    bytes: file.bytes,
    uploadedAt: iso(file.uploadedAt),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
