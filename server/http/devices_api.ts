/**
 * `GET /api/devices` (SPEC §8): the devices active now, paged and searched on the server
 * so a page costs the same with ten devices or ten thousand online.
 *
 * Query: `q` (part of the name, any case), `offset` (default 0), `limit` (default
 * {@linkcode DEFAULT_PAGE_DEVICES}, at most {@linkcode MAX_PAGE_DEVICES}). Answer:
 * `{"total", "offset", "limit", "devices": [{"name", "since", "ip", "udpPort", "files",
 * "lastUpload", "messagesWaiting", "lockedUntil"}]}` where `total` counts the devices that
 * match, times are ISO 8601 (or `null`), oldest login first. The store is read only for the
 * devices on the page, three keyed reads each ({@linkcode withStoredFacts}).
 * In a network of servers each device also has `node`, the node it is logged in through.
 *
 * @module
 */

import type { FileRecords, Lockouts, Mailbox } from "../store/interfaces.ts";

/** Devices on a page when `limit` is not given. */
export const DEFAULT_PAGE_DEVICES = 50;
/** The most devices one page may hold. */
export const MAX_PAGE_DEVICES = 500;
/** The longest search text. */
export const MAX_DEVICE_QUERY_CHARS = 64;

/** A device as the API lists it. */
export interface DeviceRow {
  name: string;
  /** Login time, ISO 8601. */
  since: string;
  ip: string;
  udpPort: number;
  /** In a network: the node the device is logged in through. */
  node?: string;
}

/** A device as the API lists it, with what the store knows of it. */
export interface DeviceRowWithFacts extends DeviceRow {
  /** Its stored files. */
  files: number;
  /** Its latest stored upload, ISO 8601, or `null` with no file. */
  lastUpload: string | null;
  /** Offline messages stored for it and not yet acknowledged. */
  messagesWaiting: number;
  /** The end of a lockout of its name running now, ISO 8601, or `null`. */
  lockedUntil: string | null;
}

/** Where {@linkcode withStoredFacts} reads. */
export interface DeviceFactSources {
  files: Pick<FileRecords, "summaryOfDevice">;
  /** Messages waiting for a device (bounded by the mailbox limits). */
  mailbox: Pick<Mailbox, "pending">;
  lockouts: Pick<Lockouts, "until">;
  /** The time now (ms epoch): a lockout that has ended is not shown. */
  now: number;
}

/**
 * `page` with each device's stored files, latest upload, messages waiting and running
 * lockout, read for the devices on the page only (at most {@linkcode MAX_PAGE_DEVICES}).
 */
export async function withStoredFacts(
  page: DevicePage,
  sources: DeviceFactSources,
): Promise<DevicePage<DeviceRowWithFacts>> {
  const devices = await Promise.all(page.devices.map(async (device) => {
    const [files, messages, until] = await Promise.all([
      sources.files.summaryOfDevice(device.name),
      sources.mailbox.pending(device.name),
      sources.lockouts.until(device.name),
    ]);
    return {
      ...device,
      files: files.files,
      lastUpload: files.lastUploadAt === undefined ? null : iso(files.lastUploadAt),
      messagesWaiting: messages.length,
      lockedUntil: until !== undefined && until > sources.now ? iso(until) : null,
    };
  }));
  return { ...page, devices };
}

/** One page of the answer. */
export interface DevicePage<Row extends DeviceRow = DeviceRow> {
  total: number;
  offset: number;
  limit: number;
  devices: Row[];
}

/** What the query asks for. */
export interface DeviceQuery {
  search: string;
  offset: number;
  limit: number;
}

/**
 * Reads `q`, `offset` and `limit`.
 *
 * @returns the query, or a sentence saying which parameter is wrong and what it may be.
 */
export function parseDeviceQuery(params: URLSearchParams): DeviceQuery | string {
  const search = params.get("q") ?? "";
  if (search.length > MAX_DEVICE_QUERY_CHARS) {
    return `q is longer than ${MAX_DEVICE_QUERY_CHARS} characters`;
  }
  const offset = integerParam(params, "offset", 0, 0, Number.MAX_SAFE_INTEGER);
  if (typeof offset === "string") return offset;
  const limit = integerParam(params, "limit", DEFAULT_PAGE_DEVICES, 1, MAX_PAGE_DEVICES);
  if (typeof limit === "string") return limit;
  return { search, offset, limit };
}

function integerParam(
  params: URLSearchParams,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number | string {
  const text = params.get(name);
  if (text === null) return fallback;
  const value = /^\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    return `${name} must be an integer ${min}..${max}, not ${JSON.stringify(text.slice(0, 20))}`;
  }
  return value;
}

/**
 * The page `query` asks for, of `devices` (oldest login first).
 *
 * @example
 * ```ts
 * import { pageDevices } from "./devices_api.ts";
 * import assert from "node:assert/strict";
 * const d = (name: string) => ({ name, since: 0, ip: "127.0.0.1", udpPort: 9 });
 * const page = pageDevices([d("watch1"), d("cam2"), d("watch3")], { search: "WATCH", offset: 1, limit: 5 });
 * assert.deepEqual(page.devices.map((x) => x.name), ["watch3"]);
 * assert.equal(page.total, 2);
 * ```
 */
export function pageDevices(
  devices: readonly { name: string; since: number; ip: string; udpPort: number; node?: string }[],
  query: DeviceQuery,
): DevicePage {
  const needle = query.search.toLowerCase();
  const matching = needle === ""
    ? devices
    : devices.filter((d) => d.name.toLowerCase().includes(needle));
  return {
    total: matching.length,
    offset: query.offset,
    limit: query.limit,
    devices: matching.slice(query.offset, query.offset + query.limit).map((d) => ({
      name: d.name,
      since: iso(d.since),
      ip: d.ip,
      udpPort: d.udpPort,
      ...(d.node !== undefined && { node: d.node }),
    })),
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
