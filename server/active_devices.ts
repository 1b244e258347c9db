/**
 * Who is online now, and `edge-device-log.txt` kept in step with it (SPEC §2): one line
 * per active device, `seq; timestamp; name; ip; udpPort`, renumbered from 1 when a device
 * leaves. The file is rewritten atomically; rewrites are coalesced so a burst of joins
 * costs one write per burst, not one per join, and the file on disk always matches some
 * recent state of the registry.
 *
 * @module
 */

import { writeFileAtomic } from "./data_dir.ts";
import { formatTimestamp } from "./timestamp.ts";

/** One active device. */
export interface ActiveDevice {
  name: string;
  /** Login time, ms epoch. */
  since: number;
  ip: string;
  udpPort: number;
  /** Key that signs tickets for peer traffic to this device (given to it at login). */
  ticketKey: Uint8Array;
  /** Queues an already-encoded frame for this device's connection. */
  deliver(frame: Uint8Array): void;
}

/** How AED lists a device, and that entry's JSON: made once, when it becomes active. */
interface Listing {
  /** Login time in the log's timestamp format. */
  since: string;
  /** `{"name", "since", "ip", "udpPort"}` as AED sends it to everyone. */
  json: string;
}

/** The registry of devices that are logged in. */
export class ActiveDevices {
  readonly #path: string;
  /** Names that passed login, active or still registering their UDP port. */
  readonly #claimed = new Set<string>();
  /** Active devices in the order they became active. */
  readonly #active = new Map<string, ActiveDevice>();
  /** Each active device's AED entry, made once: a thousand AEDs list it a thousand times. */
  readonly #listings = new Map<string, Listing>();
  #writing: Promise<void> | undefined;
  #dirty = false;
  #onError: (error: unknown) => void;

  /**
   * @param path the active-device log.
   * @param onError told when rewriting the log fails (the registry stays right).
   */
  constructor(path: string, onError: (error: unknown) => void) {
    this.#path = path;
    this.#onError = onError;
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
    const { name, ip, udpPort } = device;
    const since = formatTimestamp(device.since);
    this.#listings.set(name, { since, json: JSON.stringify({ name, since, ip, udpPort }) });
    this.#scheduleWrite();
  }

  /** Removes `name` (claimed or active); the log is renumbered. */
  release(name: string): void {
    this.#claimed.delete(name);
    this.#listings.delete(name);
    if (this.#active.delete(name)) this.#scheduleWrite();
  }

  /** The active device called `name`. */
  get(name: string): ActiveDevice | undefined {
    return this.#active.get(name);
  }

  /** The AED entries of `devices` (all active), as one JSON array. */
  listingsJson(devices: ActiveDevice[]): string {
    return `[${devices.map((d) => this.#listings.get(d.name)!.json).join(",")}]`;
  }

  /** Active devices, oldest first. */
  list(): ActiveDevice[] {
    return [...this.#active.values()];
  }

  /** Resolves when the log on disk reflects every change made so far. */
  async flushed(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  #scheduleWrite(): void {
    this.#dirty = true;
    this.#writing ??= this.#writeLoop();
  }

  async #writeLoop(): Promise<void> {
    while (this.#dirty) {
      this.#dirty = false;
      try {
        const text = renderActiveLog(this.list(), (d) => this.#listings.get(d.name)!.since);
        await writeFileAtomic(this.#path, new TextEncoder().encode(text));
      } catch (error) {
        this.#onError(error);
      }
    }
    this.#writing = undefined;
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
