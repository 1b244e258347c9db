/**
 * The payload of a notification on {@linkcode PRESENCE_CHANNEL}: a device of the network
 * went online or offline (SPEC §9). Every node listens; each updates its view of the
 * registry and tells its own devices. JSON text, well under PostgreSQL's 8,000-byte
 * payload limit (a device name is at most `MAX_NAME_BYTES`, a node id 64 characters). The
 * database fills in `order` (the row's place in the login order) when it sends one, so
 * encoded notices carry `order: 0`.
 *
 * @module
 */

import { fromBase64, toBase64 } from "../../p2p/ticket.ts";

/** The channel every node listens to for presence. */
export const PRESENCE_CHANNEL = "iotnet_presence";

/** Who a notice is about: the registry row's identity. */
interface NoticeRow {
  /** The device. */
  name: string;
  /** The node it is (was) logged in through, and that node's epoch. */
  node: string;
  epoch: number;
  /** Its place in the network's login order. */
  order: number;
}

/** A device of the network became active, or stopped being active. */
export type PresenceNotice =
  | NoticeRow & {
    state: "online";
    since: number;
    ip: string;
    udpPort: number;
    ticketKey: Uint8Array;
  }
  | NoticeRow & { state: "offline" };

/**
 * The notice as JSON text.
 *
 * @example
 * ```ts
 * import { decodePresenceNotice, encodePresenceNotice } from "./presence_notice.ts";
 * import assert from "node:assert/strict";
 * const notice = { state: "offline", name: "watch1", node: "n1", epoch: 3, order: 7 } as const;
 * assert.deepEqual(decodePresenceNotice(encodePresenceNotice(notice)), notice);
 * ```
 */
export function encodePresenceNotice(notice: PresenceNotice): string {
  const { name, node, epoch, order } = notice;
  if (notice.state === "offline") return JSON.stringify({ s: "offline", name, node, epoch, order });
  const { since, ip, udpPort, ticketKey } = notice;
  return JSON.stringify({
    s: "online",
    name,
    node,
    epoch,
    order,
    since,
    ip,
    udpPort,
    key: toBase64(ticketKey),
  });
}

/**
 * Reads a notice.
 *
 * @throws {SyntaxError} when `text` is not JSON.
 * @throws {TypeError} naming the field that is missing or of the wrong type.
 */
export function decodePresenceNotice(text: string): PresenceNotice {
  const value: unknown = JSON.parse(text);
  if (typeof value !== "object" || value === null) {
    throw new TypeError("a presence notice must be a JSON object");
  }
  const fields = value as Record<string, unknown>;
  const row: NoticeRow = {
    name: field(fields, "name", "string"),
    node: field(fields, "node", "string"),
    epoch: field(fields, "epoch", "number"),
    order: field(fields, "order", "number"),
  };
  const state = field(fields, "s", "string");
  if (state === "offline") return { state, ...row };
  if (state !== "online") throw new TypeError(`unknown presence state ${JSON.stringify(state)}`);
  return {
    state,
    ...row,
    since: field(fields, "since", "number"),
    ip: field(fields, "ip", "string"),
    udpPort: field(fields, "udpPort", "number"),
    ticketKey: fromBase64(field(fields, "key", "string")),
  };
}

function field<T extends "string" | "number">(
  fields: Record<string, unknown>,
  name: string,
  type: T,
): T extends "string" ? string : number {
  const value = fields[name];
  const ok = type === "string" ? typeof value === "string" : typeof value === "number";
  if (!ok) throw new TypeError(`presence notice field ${name} must be a ${type}`);
  return value as T extends "string" ? string : number;
}
