/**
 * The `active_devices` table: the network's registry of who is logged in, and through
 * which node's term (SPEC §9). The primary key is the login claim: `INSERT … ON CONFLICT
 * DO NOTHING` lets exactly one of any number of simultaneous logins of a name win, on
 * whatever nodes they arrive. A claim is only made by a node whose lease runs (its row is
 * read `FOR SHARE`, so a sweep of that node waits for the claim and then clears it).
 * Activation and release notify {@linkcode PRESENCE_CHANNEL} in the same statement, so
 * the notice goes out exactly when the change commits; the database puts the row's login
 * order into the notice.
 *
 * @module
 */

import type { Sql } from "postgres";
import {
  encodePresenceNotice,
  PRESENCE_CHANNEL,
  type PresenceNotice,
} from "../../cluster/presence_notice.ts";
import type { NodeTerm } from "./node_rows.ts";

/** What a claim found. */
export type ClaimOutcome = "claimed" | "taken" | "not_serving";

/** An active device as the registry holds it. */
export type RegisteredDevice = Extract<PresenceNotice, { state: "online" }>;

/** Claims `name` for a session of `term`; `not_serving` when the term's lease has passed. */
export async function claimName(sql: Sql, term: NodeTerm, name: string): Promise<ClaimOutcome> {
  const [row] = await sql<{ serving: boolean; claimed: boolean }[]>`
    WITH me AS (
      SELECT 1 FROM nodes
      WHERE node = ${term.node} AND epoch = ${term.epoch} AND lease_until > now()
      FOR SHARE),
    claimed AS (
      INSERT INTO active_devices (name, node, epoch)
      SELECT ${name}, ${term.node}, ${term.epoch} FROM me
      ON CONFLICT (name) DO NOTHING
      RETURNING 1)
    SELECT EXISTS (SELECT 1 FROM me) AS serving, EXISTS (SELECT 1 FROM claimed) AS claimed`;
  if (!row!.serving) return "not_serving";
  return row!.claimed ? "claimed" : "taken";
}

/**
 * Activates the device claimed by `term` and tells every node.
 *
 * @returns its login order; undefined when the claim is gone (the term was swept).
 */
export async function activateDevice(
  sql: Sql,
  term: NodeTerm,
  device: Omit<RegisteredDevice, "state" | "node" | "epoch" | "order">,
): Promise<number | undefined> {
  const notice = encodePresenceNotice({
    state: "online",
    ...device,
    node: term.node,
    epoch: term.epoch,
    order: 0,
  });
  const [row] = await sql<{ login_order: string }[]>`
    WITH a AS (
      UPDATE active_devices
      SET login_order = nextval('login_order'), since = ${device.since}, ip = ${device.ip},
          udp_port = ${device.udpPort}, ticket_key = ${device.ticketKey}
      WHERE name = ${device.name} AND node = ${term.node} AND epoch = ${term.epoch}
      RETURNING login_order)
    SELECT login_order,
           pg_notify(${PRESENCE_CHANNEL},
                     jsonb_set(${notice}::text::jsonb, '{order}', to_jsonb(login_order))::text)
    FROM a`;
  return row === undefined ? undefined : Number(row.login_order);
}

/** Releases `name` if `term` holds it, telling every node when it was active. */
export async function releaseName(sql: Sql, term: NodeTerm, name: string): Promise<void> {
  const notice = encodePresenceNotice({
    state: "offline",
    name,
    node: term.node,
    epoch: term.epoch,
    order: 0,
  });
  await sql`
    WITH gone AS (
      DELETE FROM active_devices
      WHERE name = ${name} AND node = ${term.node} AND epoch = ${term.epoch}
      RETURNING login_order)
    SELECT pg_notify(${PRESENCE_CHANNEL},
                     jsonb_set(${notice}::text::jsonb, '{order}', to_jsonb(login_order))::text)
    FROM gone WHERE login_order IS NOT NULL`;
}

/** A registry row as postgres.js reads it. */
interface DeviceRow {
  name: string;
  node: string;
  epoch: string;
  login_order: string;
  since: string;
  ip: string;
  udp_port: number;
  ticket_key: Uint8Array;
}

/** Every active device of the network, in login order. */
export async function activeDevices(sql: Sql): Promise<RegisteredDevice[]> {
  const rows = await sql<DeviceRow[]>`
    SELECT name, node, epoch, login_order, since, ip, udp_port, ticket_key
    FROM active_devices WHERE login_order IS NOT NULL ORDER BY login_order`;
  return rows.map(registered);
}

/** The active device called `name`, if it is active anywhere in the network. */
export async function activeDevice(sql: Sql, name: string): Promise<RegisteredDevice | undefined> {
  const [row] = await sql<DeviceRow[]>`
    SELECT name, node, epoch, login_order, since, ip, udp_port, ticket_key
    FROM active_devices WHERE name = ${name} AND login_order IS NOT NULL`;
  return row === undefined ? undefined : registered(row);
}

function registered(r: DeviceRow): RegisteredDevice {
  return {
    state: "online",
    name: r.name,
    node: r.node,
    epoch: Number(r.epoch),
    order: Number(r.login_order),
    since: Number(r.since),
    ip: r.ip,
    udpPort: r.udp_port,
    ticketKey: new Uint8Array(r.ticket_key),
  };
}
