/**
 * The registry of active devices as every command sees it: the one seam between the
 * server alone (`ActiveDevices`, in memory: everything here is synchronous and the
 * promises below are never made) and a node of a network (`ClusterDevices`, the shared
 * registry in PostgreSQL with this node's view of it, SPEC §9). Handlers `await` what may
 * be a promise; over the in-memory registry that costs a microtask, nothing more.
 *
 * @module
 */

import type { NewMessage } from "./store/interfaces.ts";

/** One active device: on this server, or (in a network) on another node. */
export interface ActiveDevice {
  name: string;
  /** Login time, ms epoch. */
  since: number;
  ip: string;
  udpPort: number;
  /** Key that signs tickets for peer traffic to this device (given to it at login). */
  ticketKey: Uint8Array;
  /** In a network: the node it is logged in through. */
  node?: string;
  /** In a network: its place in the network's login order (smaller logged in first). */
  order?: number;
  /**
   * Queues an already-encoded push for this device's connection; for a device on another
   * node, hands it to that node (failures are logged, never thrown).
   */
  deliver(frame: Uint8Array): void;
  /**
   * For a device connected here: reads its stored messages again and pushes those not yet
   * pushed to it (a message was stored while it was logging in, on another node).
   */
  recheckMailbox?(): void;
}

/** What a broadcast reaches: everyone online but `sender` and the devices in `blockers`. */
export interface BroadcastTarget {
  sender: string;
  blockers: ReadonlySet<string>;
}

/** The registry of devices that are logged in (SPEC §2, §9). */
export interface DeviceRegistry {
  /**
   * Reserves `name` for a session that has just passed the password check.
   *
   * @returns false if the name is logged in already (here or anywhere in the network).
   * @throws {UnavailableError} when the network's database cannot be reached.
   */
  claim(name: string): boolean | Promise<boolean>;
  /**
   * Makes a claimed device active: listed, told presence, reachable.
   *
   * @throws {UnavailableError} when the network's database cannot be reached.
   */
  activate(device: ActiveDevice): void | Promise<void>;
  /** Removes `name` (claimed or active); resolves once the network knows. Never throws. */
  release(name: string): void | Promise<void>;
  /** How many devices are active (in the whole network). */
  readonly count: number;
  /** The active device called `name`, wherever it is, as this server knows now. */
  get(name: string): ActiveDevice | undefined;
  /**
   * The active device called `name`, for a command aimed at it: in a network, a device this
   * node has not heard of yet (logged in through another node a moment ago, its presence
   * notice still on its way) is read from the registry.
   *
   * @throws {UnavailableError} when the network's database cannot be reached.
   */
  lookup(name: string): ActiveDevice | undefined | Promise<ActiveDevice | undefined>;
  /** Active devices, in login order. */
  list(): ActiveDevice[];
  /** The active devices connected to this server (those presence notices here go to). */
  connectedHere(): Iterable<ActiveDevice>;
  /** The AED entries of `devices` (all active), as one JSON array. */
  listingsJson(devices: ActiveDevice[]): string;
  /**
   * The active devices `viewer` may see now: all but itself and `blockers` (those that
   * block it, read from the store first). A caller that renders the list (AED's
   * {@linkcode listingsJson}) does so in the same task, before a device in it can leave.
   */
  visibleTo(viewer: string, blockers: Set<string>): ActiveDevice[];
  /**
   * Hands a direct message to `target`, which is active: at once to a device here; to a
   * device on another node, durably (it becomes an offline message if the device has gone
   * when that node takes it).
   *
   * @returns whether it was handed over; false when `target`'s node has gone (then the
   *   caller stores it as an offline message).
   * @throws {UnavailableError} when the network's database cannot be reached.
   */
  sendDirect(
    target: ActiveDevice,
    frame: Uint8Array,
    message: NewMessage,
  ): boolean | Promise<boolean>;
  /**
   * Delivers a broadcast to every active device but the sender and its blockers.
   *
   * @returns how many devices it was addressed to.
   * @throws {UnavailableError} when the network's database cannot be reached.
   */
  broadcast(frame: Uint8Array, target: BroadcastTarget): number | Promise<number>;
  /**
   * Told after a message for `recipient` was stored offline: in a network, the recipient
   * may have logged in on another node since it was seen offline, and is woken to read it.
   */
  messageStored(recipient: string): void;
  /** Resolves when `edge-device-log.txt` reflects every change made so far. */
  flushed(): Promise<void>;
  /**
   * In a network: checks, before a command is served, that this node's hold on the network
   * (its lease) has not lapsed; if it has, the node fences itself (ending every session)
   * and the command is refused. Absent for a server alone.
   *
   * @throws {UnavailableError} when the hold has lapsed.
   */
  checkHold?(): void;
  /**
   * In a network: checks, before a login is looked at, that this node takes logins now
   * (it serves, and its last lease renewal reached the database). Absent for a server alone.
   *
   * @throws {UnavailableError} when it does not.
   */
  checkLogin?(): void;
}
