/**
 * The server's counters: what the device path reports, as plain increments of numbers and
 * of entries in small maps. Nothing here waits, allocates per event beyond a map entry the
 * first time a label value is seen, or reads the clock but for a duration the caller
 * measured. `/metrics` reads them through a snapshot (`metrics_snapshot.ts`).
 *
 * Label values are bounded sets (result codes, command names, reasons), never a device
 * name or an address: each map holds at most one entry per value of its set.
 *
 * @module
 */

import { Histogram } from "./histogram.ts";

/** Why a device's session ended, as counted (never free text). */
export type LogoutReason =
  | "logout"
  | "disconnected"
  | "idle"
  | "login_timeout"
  | "protocol"
  | "slow_reader"
  | "shutdown";

/** Why a connection was refused before a session started. */
export type RefusalReason = "max_connections" | "max_pending_logins" | "max_pending_per_address";

/** Counts by a label value from a bounded set. */
export class LabelledCounter<L extends string = string> {
  readonly #counts = new Map<L, number>();

  /** Adds `n` (default 1) to `label`'s count. */
  add(label: L, n = 1): void {
    this.#counts.set(label, (this.#counts.get(label) ?? 0) + n);
  }

  /** The count of `label`. */
  get(label: L): number {
    return this.#counts.get(label) ?? 0;
  }

  /** Every label seen, with its count (a copy). */
  entries(): [L, number][] {
    return [...this.#counts];
  }
}

/** The counters of one running server. */
export class ServerMetrics {
  /** Devices online now (logged in with a UDP port), and the most there were at once. */
  online = 0;
  onlineMax = 0;
  connections = 0;
  readonly refusals = new LabelledCounter<RefusalReason>();
  /** By result: `ok` or the error code the login was answered with. */
  readonly logins = new LabelledCounter();
  readonly logouts = new LabelledCounter<LogoutReason>();
  /** By `command` and `result` (`ok` or an error code), as `command result`. */
  readonly commands = new LabelledCounter();
  /** By command. */
  readonly commandDurations = new Map<string, Histogram>();
  uploads = 0;
  uploadBytes = 0;
  /** By kind: `direct`, `offline` (stored), `broadcast`. */
  readonly messages = new LabelledCounter<"direct" | "offline" | "broadcast">();
  /** Stored messages a device acknowledged (and the server forgot). */
  offlineAcked = 0;
  /**
   * Stored messages waiting now, for all recipients: read from the store once a second
   * (`store_gauges.ts`), as in a network of servers the others change it too.
   */
  offlineWaiting = 0;
  receivedBytes = 0;
  sentBytes = 0;

  /** A device came online. */
  deviceOnline(): void {
    if (++this.online > this.onlineMax) this.onlineMax = this.online;
  }

  /** An online device left. */
  deviceOffline(reason: LogoutReason): void {
    this.online--;
    this.logouts.add(reason);
  }

  /** A command finished after `seconds`, with `result` (`ok` or an error code). */
  command(command: string, result: string, seconds: number): void {
    this.commands.add(`${command} ${result}`);
    let histogram = this.commandDurations.get(command);
    if (!histogram) this.commandDurations.set(command, histogram = new Histogram());
    histogram.observe(seconds);
  }
}
