/**
 * Who is online now, and `edge-device-log.txt` kept in step with it (SPEC §2): one line
 * per active device, `seq; timestamp; name; ip; udpPort`, renumbered from 1 when a device
 * leaves. The file is rewritten atomically; rewrites are coalesced so a burst of joins
 * costs one write per burst, not one per join, and the file on disk always matches some
 * recent state of the registry.
 *
 * @module
 */

import { Coalesced, isoSeconds } from "../internal/mod.ts";
import { writeFileAtomic } from "./atomic_write.ts";
import type { Disk } from "./disk.ts";
import { formatTimestamp } from "./timestamp.ts";
import type { ActiveDevice, BroadcastTarget, DeviceRegistry } from "./device_registry.ts";

export type { ActiveDevice } from "./device_registry.ts";

/** How AED lists a device, and that entry's JSON: made once, when it becomes active. */
interface Listing {
  /** Login time in the log's timestamp format. */
  since: string;
  /** `{"name", "since", "ip", "udpPort"}` as AED sends it to everyone (`since` in ISO 8601). */
  json: string;
}

/** Options of {@linkcode ActiveDevices}. */
export interface ActiveDevicesOptions {
  /** The server's disk. */
  disk: Disk;
  /** Told when rewriting the log fails (the registry stays right). */
  onError: (error: unknown) => void;
}

/**
 * The registry of devices that are logged in, in memory: the server's own when it runs
 * alone, and a node's view of the network's registry (`server/cluster/`). Devices are
 * listed in the order they became active, or by their `order` when they carry one.
 */
export class ActiveDevices implements DeviceRegistry {
  /** Names that passed login, active or still registering their UDP port. */
  readonly #claimed = new Set<string>();
  /** Active devices in the order they became active. */
  readonly #active = new Map<string, ActiveDevice>();
  /** Each active device's AED entry, made once: a thousand AEDs list it a thousand times. */
  readonly #listings = new Map<string, Listing>();
  /** Rewrites of the log from the registry as it is when each starts. */
  readonly #rewrite: Coalesced<void>;
  /** The last rewrite asked for: settled once the log reflects every change so far. */
  #rewritten: Promise<void> = Promise.resolve();

  /**
   * @param path the active-device log.
   * @param options the server's disk, and who hears of a failed rewrite.
   */
  constructor(path: string, options: ActiveDevicesOptions) {
    this.#rewrite = new Coalesced(async () => {
      try {
        const text = renderActiveLog(this.list(), (d) => this.#listings.get(d.name)!.since);
        await writeFileAtomic(path, new TextEncoder().encode(text), { disk: options.disk });
      } catch (error) {
        options.onError(error);
      }
    });
  }

  /** Reserves `name` for a session that just logged in; false if it is taken. */
  claim(name: string): boolean {
    if (this.#claimed.has(name)) return false;
    this.#claimed.add(name);
    return true;
  }

  /** Makes a claimed device active and writes it to the log. */
  activate(device: ActiveDevice): void {
    if (!this.#claimed.has(device.name)) throw new Error(`${device.name} was not claimed`);
    this.#active.delete(device.name);
    this.#active.set(device.name, device);
    if (device.order !== undefined) this.#keepOrder(device.order);
    const { name, ip, udpPort } = device;
    this.#listings.set(name, {
      since: formatTimestamp(device.since),
      json: JSON.stringify({ name, since: isoSeconds(device.since), ip, udpPort }),
    });
    this.#scheduleWrite();
  }

  /** Removes `name` (claimed or active); the log is renumbered. */
  release(name: string): void {
    this.#claimed.delete(name);
    this.#listings.delete(name);
    if (this.#active.delete(name)) this.#scheduleWrite();
  }

  /** Puts the devices back in login order when one came in later than its place. */
  #keepOrder(order: number): void {
    let later = false;
    for (const d of this.#active.values()) {
      if (d.order !== undefined && d.order > order) later = true;
    }
    if (!later) return;
    const sorted = [...this.#active.values()].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
    this.#active.clear();
    for (const d of sorted) this.#active.set(d.name, d);
  }

  /** How many devices are active. */
  get count(): number {
    return this.#active.size;
  }

  /** The active device called `name`. */
  get(name: string): ActiveDevice | undefined {
    return this.#active.get(name);
  }

  /** The AED entries of `devices` (all active), as one JSON array. */
  listingsJson(devices: ActiveDevice[]): string {
    return `[${devices.map((d) => this.#listings.get(d.name)!.json).join(",")}]`;
  }

  /** The active device called `name`: alone, the server knows every one at once. */
  lookup(name: string): ActiveDevice | undefined {
    return this.#active.get(name);
  }

  /** Active devices, oldest first. */
  list(): ActiveDevice[] {
    return [...this.#active.values()];
  }

  /**
   * The active devices `viewer` may see now: all but itself and `blockers` (those that
   * block it, read from the store first). A caller that renders the list (AED's
   * {@linkcode listingsJson}) does so in the same task, before a device in it can leave.
   */
  visibleTo(viewer: string, blockers: Set<string>): ActiveDevice[] {
    return this.list().filter((d) => d.name !== viewer && !blockers.has(d.name));
  }

  /** Every active device: alone, the server's devices are all connected to it. */
  connectedHere(): Iterable<ActiveDevice> {
    return this.#active.values();
  }

  /** Queues the message on `target`'s connection. */
  sendDirect(target: ActiveDevice, frame: Uint8Array): boolean {
    target.deliver(frame);
    return true;
  }

  /** Queues the broadcast on every connection but the sender's and its blockers'. */
  broadcast(frame: Uint8Array, target: BroadcastTarget): number {
    let delivered = 0;
    for (const device of this.#active.values()) {
      if (device.name === target.sender || target.blockers.has(device.name)) continue;
      device.deliver(frame);
      delivered++;
    }
    return delivered;
  }

  /** Nothing to do: alone, a device that logs in reads its mailbox after it was claimed. */
  messageStored(_recipient: string): void {}

  /** Resolves when the log on disk reflects every change made so far. */
  flushed(): Promise<void> {
    return this.#rewritten;
  }

  #scheduleWrite(): void {
    this.#rewritten = this.#rewrite.run();
  }
}

/**
 * Renders the log's lines.
 *
 * @example
 * ```ts
 * import { renderActiveLog } from "./active_devices.ts";
 * import assert from "node:assert/strict";
 * const since = new Date(2022, 8, 30, 10, 31, 13).getTime();
 * assert.equal(
 *   renderActiveLog([{ name: "watch1", since, ip: "127.0.0.1", udpPort: 6000, ticketKey: new Uint8Array(32), deliver() {} }]),
 *   "1; 30 September 2022 10:31:13; watch1; 127.0.0.1; 6000\n",
 * );
 * ```
 */
export function renderActiveLog(
  devices: ActiveDevice[],
  sinceText: (device: ActiveDevice) => string = (d) => formatTimestamp(d.since),
): string {
  return devices.map((d, i) => `${i + 1}; ${sinceText(d)}; ${d.name}; ${d.ip}; ${d.udpPort}\n`)
    .join("");
}
