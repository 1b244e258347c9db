/**
 * A node's LISTEN connection: a dedicated connection that listens to a few channels and
 * listens again, after {@linkcode RELISTEN_RETRY_MS}, whenever it closed (the backend was
 * terminated, PostgreSQL restarted, the network failed). Notifications sent while it was
 * closed are lost, which is why every successful LISTEN is followed by `onListening`: the
 * node reads again what the notifications would have told it (docs/DECISIONS.md, "One
 * network on PostgreSQL"). Not postgres.js's own `listen()`: this one retries on the node's
 * clock (virtual in tests), says when it is deaf, and is named by its purpose.
 *
 * @module
 */

import type { Sql } from "postgres";
import type { Clock, TimerId } from "../../../internal/mod.ts";
import type { PostgresDatabase } from "./database.ts";
import { reason } from "./database.ts";

/** How long a closed LISTEN connection waits before it tries again. */
export const RELISTEN_RETRY_MS = 500;

/** Options of {@linkcode NotificationListener}. */
export interface NotificationListenerOptions {
  /** The channels. */
  channels: string[];
  /**
   * Shown in `pg_stat_activity` after the node's name (a node has one listener per
   * purpose). Default `listen`.
   */
  purpose?: string;
  /** Told each notification. */
  onNotify(channel: string, payload: string): void;
  /** Told after each successful LISTEN (the first and every one after a close). */
  onListening(): void;
  /** Told when the connection closed or could not listen (for the log). */
  onProblem(problem: string): void;
  clock: Clock;
}

/** A connection that listens to channels, and listens again after it closed. */
export class NotificationListener {
  readonly #options: NotificationListenerOptions;
  readonly #sql: Sql;
  #retry: TimerId | undefined;
  #listening: Promise<void> | undefined;
  #closed = false;

  /**
   * Makes the listener; {@linkcode start} listens.
   *
   * @param db the node's database.
   * @param options channels and what to tell.
   */
  constructor(db: PostgresDatabase, options: NotificationListenerOptions) {
    this.#options = options;
    this.#sql = db.dedicated(options.purpose ?? "listen", {
      onnotify: (channel, payload) => {
        if (!this.#closed) options.onNotify(channel, payload);
      },
      onclose: () => {
        if (this.#closed) return;
        options.onProblem("the LISTEN connection closed; listening again");
        this.#scheduleRetry();
      },
    });
  }

  /**
   * Listens for the first time.
   *
   * @throws the database's error when it cannot (the listener is closed then).
   */
  async start(): Promise<void> {
    try {
      await this.#listen();
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  #listen(): Promise<void> {
    return this.#listening ??= (async () => {
      try {
        for (const channel of this.#options.channels) {
          await this.#sql.unsafe(`LISTEN "${channel.replaceAll('"', '""')}"`);
        }
      } finally {
        this.#listening = undefined;
      }
      if (!this.#closed) this.#options.onListening();
    })();
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retry !== undefined) return;
    const { clock } = this.#options;
    this.#retry = clock.setTimeout(() => {
      this.#retry = undefined;
      this.#listen().catch((error) => {
        this.#options.onProblem(`cannot listen: ${reason(error)}; trying again`);
        this.#scheduleRetry();
      });
    }, RELISTEN_RETRY_MS);
  }

  /** Stops listening and closes the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry !== undefined) this.#options.clock.clearTimeout(this.#retry);
    await this.#sql.end({ timeout: 0 });
  }
}
