/**
 * A node's hold on the network (SPEC §9): its term (a new epoch at each start), the lease
 * it renews every {@linkcode HEARTBEAT_MS} for {@linkcode LEASE_MS} on the database's
 * clock, the session advisory lock it holds on a connection of its own, and the sweep of
 * the other nodes every {@linkcode SWEEP_MS}.
 *
 * ```
 * serving --lease not renewed for LEASE_MS (own clock) / lock connection closed / term swept--> fenced
 * fenced  --new term started (retried every RESTART_RETRY_MS)--> serving
 * ```
 *
 * A fenced node ends its devices' sessions and takes no logins (`unavailable`) rather
 * than risk a name logged in twice: the others sweep it once its lease has passed on the
 * database's clock, and the node's own deadline (counted from when it *sent* its last good
 * renewal) always comes first. While renewals fail but the lease still runs, the node
 * keeps its sessions and refuses new logins at once (the database is out of reach).
 * Timers run on the injected clock; lease arithmetic on the database's.
 *
 * @module
 */

import type { Sql } from "postgres";
import type { Clock, TimerId } from "../../internal/mod.ts";
import { UnavailableError } from "../../protocol/errors.ts";
import { type PostgresDatabase, reason } from "../store/postgres/database.ts";
import {
  endTerm,
  type NodeTerm,
  renewLease,
  startTerm,
  type Sweep,
  sweepDeadNodes,
} from "../store/postgres/node_rows.ts";
import { StoreError } from "../store/store_error.ts";

/** How often a node renews its lease. */
export const HEARTBEAT_MS = 1_000;
/** How long a renewal holds (database time); a node that has not renewed for this long fences itself. */
export const LEASE_MS = 3_000;
/** How often a node looks for dead nodes (lock free or lease passed). */
export const SWEEP_MS = 500;
/** How often a fenced node tries to start a new term. */
export const RESTART_RETRY_MS = 1_000;

/** Why a node that does not serve refuses logins and commands. */
const NOT_SERVING = "this server cannot reach the network's database, so it takes no logins " +
  "now; try again shortly, or log in through another server of the network";

/** Why a node fenced itself when its lease lapsed. */
function lapsed(silentMs: number, leaseMs: number): string {
  return `its lease was not renewed for ${silentMs} ms (lease ${leaseMs} ms)`;
}

/** The figures of a node's hold on its network (`ServerOptions.clusterTiming`). */
export interface LivenessTiming {
  /** How often the node renews its lease ({@linkcode HEARTBEAT_MS}). */
  heartbeatMs: number;
  /** How long a renewal holds ({@linkcode LEASE_MS}). */
  leaseMs: number;
  /** How often the node sweeps dead nodes ({@linkcode SWEEP_MS}). */
  sweepMs: number;
  /** How often a fenced node tries a new term ({@linkcode RESTART_RETRY_MS}). */
  restartRetryMs: number;
}

/** The defaults: {@linkcode HEARTBEAT_MS}, {@linkcode LEASE_MS}, ... */
export const LIVENESS_TIMING: LivenessTiming = {
  heartbeatMs: HEARTBEAT_MS,
  leaseMs: LEASE_MS,
  sweepMs: SWEEP_MS,
  restartRetryMs: RESTART_RETRY_MS,
};

/** What {@linkcode NodeLiveness} tells the node. */
export interface LivenessEvents {
  /** A term started (the first, or one after a fence); `cleared` is what earlier terms left. */
  onTerm(term: NodeTerm, cleared: Sweep): void;
  /** The node is fenced: end every device session now. */
  onFenced(reason: string): void;
  /** A sweep ended other nodes' terms. */
  onSweep(sweep: Sweep): void;
  log(line: string): void;
}

/** Options of {@linkcode NodeLiveness}. */
export interface NodeLivenessOptions {
  node: string;
  clock: Clock;
  events: LivenessEvents;
  timing?: LivenessTiming;
}

type LivenessState =
  | {
    phase: "serving";
    term: NodeTerm;
    lock: Sql;
    /** When (own clock) the last renewal that succeeded was sent. */
    renewedAt: number;
    /** Whether the last renewal failed for want of the database. */
    unreachable: boolean;
  }
  | { phase: "fenced"; reason: string; lastTerm: NodeTerm }
  | { phase: "closed" };

/** A node's term, lease, lock and sweeps. */
export class NodeLiveness {
  readonly #db: PostgresDatabase;
  readonly #options: NodeLivenessOptions;
  readonly #timing: LivenessTiming;
  #state: LivenessState = { phase: "closed" };
  #heartbeat: TimerId | undefined;
  #sweep: TimerId | undefined;
  #restart: TimerId | undefined;
  /** The renewal in flight, if any: a hung one must not stop the deadline check. */
  #renewing = false;
  #sweeping = false;
  /** Work under way that closing waits for. */
  readonly #running = new Set<Promise<unknown>>();

  /**
   * @param db the node's database.
   * @param options the node's id, clock and what to tell.
   */
  constructor(db: PostgresDatabase, options: NodeLivenessOptions) {
    this.#db = db;
    this.#options = options;
    this.#timing = options.timing ?? LIVENESS_TIMING;
  }

  /**
   * Starts the node's first term.
   *
   * @throws {StoreError} when another server holds this node id, or the database fails.
   */
  async start(): Promise<void> {
    const outcome = await this.#startTerm();
    if ("heldBy" in outcome) {
      throw new StoreError(
        `node id ${this.#options.node} is in use by another server on the network's ` +
          `database (${outcome.heldBy}); give each server its own --node-id`,
      );
    }
    this.#tick();
    this.#sweepSoon();
  }

  /**
   * The term logins are claimed under.
   *
   * @throws {UnavailableError} when the node is fenced, or its last renewal could not reach
   *   the database.
   */
  serving(): NodeTerm {
    const state = this.#state;
    if (state.phase !== "serving" || state.unreachable) throw new UnavailableError(NOT_SERVING);
    return state.term;
  }

  /** The term now, serving or not (what a release is made under); undefined when closed. */
  get term(): NodeTerm | undefined {
    const state = this.#state;
    return state.phase === "serving" ? state.term : undefined;
  }

  /**
   * Fences the node now if its lease has lapsed by its own clock (a frozen process that
   * has just resumed serves nothing before its heartbeat would have fenced it).
   *
   * @throws {UnavailableError} when the node is not serving.
   */
  checkHold(): void {
    const state = this.#state;
    if (state.phase === "serving") {
      const silentMs = this.#options.clock.now() - state.renewedAt;
      if (silentMs > this.#timing.leaseMs) this.#fence(lapsed(silentMs, this.#timing.leaseMs));
    }
    if (this.#state.phase !== "serving") throw new UnavailableError(NOT_SERVING);
  }

  /** Something said the term is over (a claim refused as not serving): fence now. */
  termLost(why: string): void {
    this.#fence(why);
  }

  async #startTerm(): Promise<{ term: NodeTerm } | { heldBy: string }> {
    const { node, clock, events } = this.#options;
    const lock = this.#db.dedicated("lock", { onclose: () => this.#lockClosed(lock) });
    // Back after the database went away: no pooled connection from before may fail a device.
    if (this.#state.phase === "fenced") await this.#db.refreshPool();
    const sentAt = clock.now();
    try {
      const outcome = await startTerm(lock, {
        sql: this.#db.sql,
        transact: this.#db.transact,
        node,
        leaseMs: this.#timing.leaseMs,
      });
      if ("heldBy" in outcome) {
        await lock.end({ timeout: 0 });
        return outcome;
      }
      this.#state = {
        phase: "serving",
        term: outcome.term,
        lock,
        renewedAt: sentAt,
        unreachable: false,
      };
      events.log(`cluster: node ${node} serves, epoch ${outcome.term.epoch}`);
      events.onTerm(outcome.term, outcome.cleared);
      return outcome;
    } catch (error) {
      await lock.end({ timeout: 0 });
      throw error;
    }
  }

  #lockClosed(lock: Sql): void {
    const state = this.#state;
    if (state.phase === "serving" && state.lock === lock) {
      this.#fence("its connection holding the node's lock closed");
    }
  }

  /** Each heartbeat: fence past the deadline, else renew (unless a renewal is in flight). */
  #tick(): void {
    const { clock } = this.#options;
    this.#heartbeat = clock.setTimeout(() => this.#tick(), this.#timing.heartbeatMs);
    const state = this.#state;
    if (state.phase !== "serving") return;
    const silentMs = clock.now() - state.renewedAt;
    if (silentMs > this.#timing.leaseMs) {
      this.#fence(lapsed(silentMs, this.#timing.leaseMs));
      return;
    }
    if (this.#renewing) return;
    this.#renewing = true;
    const sentAt = clock.now();
    this.#track((async () => {
      try {
        const renewed = await renewLease(state.lock, state.term, this.#timing.leaseMs);
        if (this.#state !== state) return;
        if (!renewed) {
          this.#fence("its term was ended by another node (its lease had passed)");
          return;
        }
        if (state.unreachable) this.#options.events.log("cluster: the database is reachable again");
        state.renewedAt = sentAt;
        state.unreachable = false;
      } catch (error) {
        if (this.#state !== state) return;
        if (!state.unreachable) {
          this.#options.events.log(
            `cluster: cannot renew the lease: ${reason(error)}; refusing logins until it can`,
          );
        }
        state.unreachable = true;
      } finally {
        this.#renewing = false;
      }
    })());
  }

  #sweepSoon(): void {
    this.#sweep = this.#options.clock.setTimeout(() => {
      this.#sweepSoon();
      if (this.#state.phase !== "serving" || this.#sweeping) return;
      this.#sweeping = true;
      this.#track(
        sweepDeadNodes(this.#db.transact, this.#options.node)
          .then((sweep) => {
            if (sweep.terms.length > 0) this.#options.events.onSweep(sweep);
          })
          .catch(() => {
            // The heartbeat says when the database is out of reach.
          })
          .finally(() => this.#sweeping = false),
      );
    }, this.#timing.sweepMs);
  }

  #fence(why: string): void {
    const state = this.#state;
    if (state.phase !== "serving") return;
    this.#state = { phase: "fenced", reason: why, lastTerm: state.term };
    this.#options.events.log(
      `cluster: node ${this.#options.node} fenced itself: ${why}; ending its devices' ` +
        "sessions and refusing logins until it starts a new term",
    );
    this.#options.events.onFenced(why);
    this.#track(state.lock.end({ timeout: 0 }).catch(() => {}));
    this.#scheduleRestart();
  }

  #scheduleRestart(): void {
    this.#restart = this.#options.clock.setTimeout(() => {
      this.#restart = undefined;
      if (this.#state.phase !== "fenced") return;
      this.#track(
        this.#startTerm().then(
          (outcome) => {
            if ("heldBy" in outcome) {
              this.#options.events.log(
                `cluster: cannot start a new term: the node's lock is held by ${outcome.heldBy}`,
              );
              this.#scheduleRestart();
            }
          },
          (error) => {
            if (this.#state.phase === "fenced") this.#scheduleRestart();
            return error;
          },
        ),
      );
    }, this.#timing.restartRetryMs);
  }

  #track(work: Promise<unknown>): void {
    this.#running.add(work);
    const done = () => this.#running.delete(work);
    work.then(done, done);
  }

  /** Ends the term (the node no longer serves), stops the timers, closes the lock's connection. */
  async close(): Promise<void> {
    const { clock } = this.#options;
    for (const timer of [this.#heartbeat, this.#sweep, this.#restart]) {
      if (timer !== undefined) clock.clearTimeout(timer);
    }
    const state = this.#state;
    this.#state = { phase: "closed" };
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
    if (state.phase !== "serving") return;
    try {
      await endTerm(this.#db.transact, state.term);
    } catch (error) {
      this.#options.events.log(`cluster: cannot end the term cleanly: ${reason(error)}`);
    }
    await state.lock.end({ timeout: 0 });
  }
}
