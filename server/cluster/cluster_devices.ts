/**
 * The registry of a node of the network (SPEC §9): the {@linkcode DeviceRegistry} every
 * command uses, over the shared `active_devices` table and this node's view of it.
 *
 * - **Claims** are rows in the shared table (`registry_rows.ts`): a name logged in
 *   anywhere is refused `already_active` everywhere. A claim is made under the node's
 *   current term and only while it serves (`node_liveness.ts`); else `unavailable`.
 * - **The view** (an {@linkcode ActiveDevices}, which also writes `edge-device-log.txt`)
 *   holds every active device of the network in login order: this node's own sessions,
 *   and the others' from presence notices. It is read again from the table each time the
 *   node (re)listens ({@linkcode resync}), notices that came meanwhile applied after, so a
 *   lost notification leaves no lasting gap.
 * - **Routing**: a push for a device on another node is an inbox row for that node
 *   (`inbox_rows.ts`), durable before the sender is answered; the owner takes its rows on
 *   each wake and each resync. Presence notices go to this node's own devices, each node
 *   telling its own.
 *
 * @module
 */

import type { Sql } from "postgres";
import type { Transact } from "../store/postgres/transactions.ts";
import { UnavailableError } from "../../protocol/errors.ts";
import type { ActiveDevices } from "../active_devices.ts";
import type { ActiveDevice, BroadcastTarget, DeviceRegistry } from "../device_registry.ts";
import type { NewMessage } from "../store/interfaces.ts";
import { reason } from "../store/postgres/database.ts";
import {
  type InboxAddress,
  sendToDevice,
  sendToOtherNodes,
  takeInbox,
  wakeMailboxes,
} from "../store/postgres/inbox_rows.ts";
import type { NodeTerm } from "../store/postgres/node_rows.ts";
import {
  activateDevice,
  activeDevice,
  activeDevices,
  claimName,
  type RegisteredDevice,
  releaseName,
} from "../store/postgres/registry_rows.ts";
import { Coalesced } from "../../internal/mod.ts";
import { decodePresenceNotice, type PresenceNotice } from "./presence_notice.ts";

/** Why a login whose node was fenced while it went on is refused. */
const TERM_ENDED = "this server's hold on the network ended while the device logged in; " +
  "log in again";

/** What the node's registry needs from the rest of the server. */
export interface ClusterDevicesOptions {
  /** The node's pool. */
  sql: Sql;
  /** The node's transactions (taking its inbox). */
  transact: Transact;
  /** This node's id. */
  node: string;
  /** The node's term: {@linkcode NodeLiveness}. */
  liveness: {
    serving(): NodeTerm;
    readonly term: NodeTerm | undefined;
    termLost(why: string): void;
    checkHold(): void;
  };
  /** The view: every active device of the network, written to `edge-device-log.txt`. */
  view: ActiveDevices;
  /** The devices that block `device` (the shared store). */
  blockersOf(device: string): Promise<Set<string>>;
  /** Tells this node's devices that `device` came or went, as for a device here. */
  announce(device: string, state: "online" | "offline"): void;
  log(line: string): void;
}

/** The registry of a node: shared claims, a view of the network, routing between nodes. */
export class ClusterDevices implements DeviceRegistry {
  readonly #options: ClusterDevicesOptions;
  /** The term each name claimed by a session here was claimed under. */
  readonly #claims = new Map<string, NodeTerm>();
  /** The active devices connected here. */
  readonly #here = new Map<string, ActiveDevice>();
  /** Where the devices of other nodes in the view are logged in. */
  readonly #elsewhere = new Map<string, InboxAddress>();
  /** Releases under way, by name: a login of the name here waits for its release. */
  readonly #releasing = new Map<string, Promise<void>>();
  /** The last push under way to each device of another node: the next one follows it. */
  readonly #pushes = new Map<string, Promise<void>>();
  /** Database work under way that closing waits for. */
  readonly #running = new Set<Promise<unknown>>();
  /** While a resync reads the table: the notices that came meanwhile, applied after. */
  #held: PresenceNotice[] | undefined;
  /** Taking this node's inbox: one take at a time, one more queued behind it. */
  readonly #take: Coalesced<void>;
  /** Re-reading the table: one at a time. */
  readonly #resync: Coalesced<void>;

  /** @param options the node's pool, id, term, view and the server's callbacks. */
  constructor(options: ClusterDevicesOptions) {
    this.#options = options;
    this.#take = new Coalesced(() => this.#takeInbox());
    this.#resync = new Coalesced(() => this.#readRegistry());
  }

  async claim(name: string): Promise<boolean> {
    // A name released here a moment ago (a logout, then a login) is free once that lands.
    await this.#releasing.get(name);
    const { liveness, sql } = this.#options;
    const term = liveness.serving();
    const outcome = await this.#reach(() => claimName(sql, term, name));
    if (outcome === "not_serving") {
      liveness.termLost("a login found the node's lease passed");
      throw new UnavailableError(
        "this server's hold on the network has lapsed; try again shortly, or log in " +
          "through another server of the network",
      );
    }
    if (outcome === "taken") return false;
    this.#claims.set(name, term);
    return true;
  }

  async activate(device: ActiveDevice): Promise<void> {
    const { liveness, node, sql, view } = this.#options;
    const term = this.#claims.get(device.name);
    if (term === undefined) throw new Error(`${device.name} was not claimed`);
    if (liveness.term !== term) throw new UnavailableError(TERM_ENDED);
    const here: ActiveDevice = { ...device, node };
    // Before the row says so: from then on a push taken from the inbox finds the device.
    this.#here.set(device.name, here);
    let order: number | undefined;
    try {
      order = await this.#reach(() => activateDevice(sql, term, device));
    } catch (error) {
      this.#here.delete(device.name);
      throw error;
    }
    if (order === undefined || this.#here.get(device.name) !== here) {
      this.#here.delete(device.name);
      throw new UnavailableError(TERM_ENDED);
    }
    here.order = order;
    this.#elsewhere.delete(device.name);
    view.release(device.name);
    view.claim(device.name);
    view.activate(here);
  }

  release(name: string): Promise<void> | undefined {
    const term = this.#claims.get(name);
    if (term === undefined) return;
    this.#claims.delete(name);
    if (this.#here.delete(name)) this.#options.view.release(name);
    // A term that has ended is cleared by the next one (or a sweep): nothing to release.
    if (this.#options.liveness.term !== term) return;
    const released = releaseName(this.#options.sql, term, name)
      .catch((error) => this.#options.log(`cluster: cannot release ${name}: ${reason(error)}`))
      .finally(() => {
        if (this.#releasing.get(name) === released) this.#releasing.delete(name);
      });
    this.#releasing.set(name, released);
    this.#track(released);
    return released;
  }

  get count(): number {
    return this.#options.view.count;
  }

  get(name: string): ActiveDevice | undefined {
    return this.#options.view.get(name);
  }

  async lookup(name: string): Promise<ActiveDevice | undefined> {
    const known = this.#options.view.get(name);
    if (known) return known;
    const { sql, node } = this.#options;
    const row = await this.#reach(() => activeDevice(sql, name));
    // Ours would be in the view already: a row of this node is a login not yet active.
    if (row !== undefined && row.node !== node) this.#arrive(row);
    return this.#options.view.get(name);
  }

  list(): ActiveDevice[] {
    return this.#options.view.list();
  }

  connectedHere(): Iterable<ActiveDevice> {
    return this.#here.values();
  }

  listingsJson(devices: ActiveDevice[]): string {
    return this.#options.view.listingsJson(devices);
  }

  visibleTo(viewer: string, blockers: Set<string>): ActiveDevice[] {
    return this.#options.view.visibleTo(viewer, blockers);
  }

  async sendDirect(target: ActiveDevice, frame: Uint8Array, message: NewMessage): Promise<boolean> {
    const here = this.#here.get(target.name);
    if (here) {
      here.deliver(frame);
      return true;
    }
    const address = this.#elsewhere.get(target.name);
    if (address === undefined) return false;
    const { sql } = this.#options;
    return await this.#reach(() =>
      sendToDevice(sql, address, { kind: "message", recipient: target.name, frame, message })
    );
  }

  async broadcast(frame: Uint8Array, target: BroadcastTarget): Promise<number> {
    const { sender, blockers } = target;
    const reached = (d: ActiveDevice) => d.name !== sender && !blockers.has(d.name);
    const addressed = this.list().filter(reached).length;
    for (const device of this.#here.values()) if (reached(device)) device.deliver(frame);
    if (this.#elsewhere.size > 0) {
      const { sql, node } = this.#options;
      await this.#reach(() => sendToOtherNodes(sql, node, { kind: "broadcast", sender, frame }));
    }
    return addressed;
  }

  messageStored(recipient: string): void {
    this.#wakeMailboxes([recipient]);
  }

  flushed(): Promise<void> {
    return this.#options.view.flushed();
  }

  checkHold(): void {
    this.#options.liveness.checkHold();
  }

  checkLogin(): void {
    this.#options.liveness.serving();
  }

  /** A notification on the presence channel. */
  onPresence(payload: string): void {
    let notice: PresenceNotice;
    try {
      notice = decodePresenceNotice(payload);
    } catch (error) {
      this.#options.log(
        `cluster: ignored a malformed presence notice: ${(error as Error).message}`,
      );
      return;
    }
    if (this.#held) this.#held.push(notice);
    else this.#apply(notice);
  }

  /** A notification on this node's inbox channel: take the rows. */
  onInbox(): void {
    this.#track(this.#take.run().catch(() => {}));
  }

  /**
   * Reads the registry again, then takes the inbox: after each (re)LISTEN, and at each new
   * term. Devices that came or went unnoticed are announced to the devices here.
   */
  resync(): Promise<void> {
    const run = this.#resync.run().then(() => this.#take.run());
    this.#track(run.catch(() => {}));
    return run;
  }

  /** The node is fenced: its sessions are being ended; forget the view of the others. */
  fenced(): void {
    const { view } = this.#options;
    for (const name of this.#elsewhere.keys()) view.release(name);
    this.#elsewhere.clear();
  }

  /** Other nodes' terms were swept: the direct messages moved to mailboxes wake their owners. */
  swept(stored: string[]): void {
    if (stored.length > 0) this.#wakeMailboxes(stored);
  }

  /** Waits for the database work under way. */
  async close(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  async #readRegistry(): Promise<void> {
    this.#held = [];
    try {
      const rows = await activeDevices(this.#options.sql);
      const { node } = this.#options;
      const now = new Map(rows.filter((r) => r.node !== node).map((r) => [r.name, r]));
      for (const name of [...this.#elsewhere.keys()]) {
        if (!now.has(name)) this.#leave(name);
      }
      for (const row of now.values()) this.#arrive(row);
    } finally {
      const held = this.#held;
      this.#held = undefined;
      for (const notice of held) this.#apply(notice);
    }
  }

  #apply(notice: PresenceNotice): void {
    // This node's own devices are this node's sessions' business.
    if (notice.node === this.#options.node) return;
    if (notice.state === "online") {
      this.#arrive(notice);
      return;
    }
    if (this.#options.view.get(notice.name)?.order === notice.order) this.#leave(notice.name);
  }

  /** A device of another node is active: into the view, told to the devices here. */
  #arrive(device: RegisteredDevice): void {
    const { view } = this.#options;
    const known = view.get(device.name);
    if (known && (known.order ?? 0) >= device.order) return; // already, or a newer login
    if (this.#here.has(device.name)) return; // a stale row of a login that moved here
    if (known) view.release(device.name);
    const { name, node, epoch } = device;
    this.#elsewhere.set(name, { node, epoch });
    view.claim(name);
    view.activate({
      name,
      since: device.since,
      ip: device.ip,
      udpPort: device.udpPort,
      ticketKey: device.ticketKey,
      node,
      order: device.order,
      deliver: (frame) => this.#push({ node, epoch }, name, frame),
    });
    if (!known) this.#options.announce(name, "online");
  }

  /** A device of another node left. */
  #leave(name: string): void {
    if (!this.#elsewhere.delete(name)) return;
    this.#options.view.release(name);
    this.#options.announce(name, "offline");
  }

  /**
   * A push for a device on another node: an inbox row there, after the pushes before it to
   * the same device (a chat's `peer` before its `accepted`). Failures are logged.
   */
  #push(to: InboxAddress, recipient: string, frame: Uint8Array): void {
    const { sql, log } = this.#options;
    const sent = (this.#pushes.get(recipient) ?? Promise.resolve())
      .then(() => sendToDevice(sql, to, { kind: "push", recipient, frame }))
      .then(
        () => {},
        (error) => log(`cluster: cannot pass a notice to ${recipient}: ${reason(error)}`),
      )
      .finally(() => {
        if (this.#pushes.get(recipient) === sent) this.#pushes.delete(recipient);
      });
    this.#pushes.set(recipient, sent);
    this.#track(sent);
  }

  async #takeInbox(): Promise<void> {
    const { transact, node, blockersOf, log } = this.#options;
    let taken;
    try {
      taken = await takeInbox(transact, node, (name) => this.#here.has(name));
    } catch (error) {
      log(`cluster: cannot take the inbox: ${reason(error)}; taken at the next wake or resync`);
      throw error;
    }
    // Blocks are read before anything is delivered, so the rows go out in their order.
    const senders = new Set(taken.rows.flatMap((r) => r.kind === "broadcast" ? [r.sender] : []));
    const blockers = new Map<string, Set<string>>();
    for (const sender of senders) blockers.set(sender, await blockersOf(sender));
    for (const row of taken.rows) {
      switch (row.kind) {
        case "push":
        case "message":
          this.#here.get(row.recipient)?.deliver(row.frame);
          break;
        case "mailbox":
          this.#here.get(row.recipient)?.recheckMailbox?.();
          break;
        case "broadcast": {
          const blocked = blockers.get(row.sender)!;
          for (const device of this.#here.values()) {
            if (device.name !== row.sender && !blocked.has(device.name)) device.deliver(row.frame);
          }
          break;
        }
      }
    }
    if (taken.stored.length > 0) this.#wakeMailboxes(taken.stored);
  }

  /**
   * After messages for `names` were stored: if one has logged in (anywhere) since it was
   * seen offline, it may have read its mailbox before they landed, so its node has it read
   * again. (A device that logs in later reads them at login: its claim came first.)
   */
  #wakeMailboxes(names: string[]): void {
    this.#track(
      wakeMailboxes(this.#options.sql, names).catch((error) =>
        this.#options.log(
          `cluster: cannot wake the mailboxes of ${names.join(", ")}: ${reason(error)}`,
        )
      ),
    );
  }

  /**
   * Runs a database call of a login or a message.
   *
   * @throws {UnavailableError} when it fails: the database is out of reach.
   */
  async #reach<T>(call: () => Promise<T>): Promise<T> {
    const work = call();
    this.#track(work.catch(() => {}));
    try {
      return await work;
    } catch (error) {
      throw new UnavailableError(
        `this server cannot reach the network's database (${reason(error)}); try again shortly`,
        { cause: error },
      );
    }
  }

  #track(work: Promise<unknown>): void {
    this.#running.add(work);
    const done = () => this.#running.delete(work);
    work.then(done, done);
  }
}
