/**
 * The PostgreSQL database under a clustered server: two connection pools and a few
 * connections for transactions, opened once per node, migrated before use
 * (`migrations.ts`). Single-statement writes (the repositories' and the cluster
 * registry's) go through one pool; reads through the other, so that a device's SCS or AED
 * never waits behind other devices' commits (postgres.js pipelines queries on a busy
 * connection, and a commit waits for its WAL flush: docs/DECISIONS.md, "A node's traffic
 * to PostgreSQL under load"); writes of more than one statement through
 * {@linkcode PostgresDatabase.transact} (`transactions.ts`).
 *
 * @module
 */

import { guardClosedSocketWrites } from "./closed_socket_write.ts";
import postgres, { type Sql } from "postgres";
import { StoreError } from "../store_error.ts";
import { migratePostgres } from "./migrations.ts";
import { type Transact, TransactionConnections } from "./transactions.ts";

/**
 * Connections one node keeps to PostgreSQL for writes at most (LISTEN and the node's lock
 * take one more each, reads {@linkcode POSTGRES_READ_POOL_SIZE}, transactions
 * {@linkcode POSTGRES_TRANSACTION_CONNECTIONS}).
 */
export const POSTGRES_POOL_SIZE = 8;
/** Connections one node keeps to PostgreSQL for reads at most. */
export const POSTGRES_READ_POOL_SIZE = 4;
/**
 * Connections one node keeps to PostgreSQL for transactions (writes of more than one
 * statement: taking an inbox, an offline message within its mailbox's limits, a delete
 * of another node's file, sweeping a dead node): as many run at once, the rest wait.
 */
export const POSTGRES_TRANSACTION_CONNECTIONS = 2;
/** Seconds a new connection to PostgreSQL may take before the attempt fails. */
export const POSTGRES_CONNECT_TIMEOUT_SECONDS = 5;

/**
 * Seconds closing the pool waits for its connections to end before it drops them (a
 * connection trying to reach a database that has gone never ends by itself).
 */
export const POSTGRES_END_TIMEOUT_SECONDS = 2;

/** Options of {@linkcode openPostgres}. */
export interface PostgresOptions {
  /** Shown in `pg_stat_activity` (`application_name`). Default `iotnet`. */
  applicationName?: string;
  /** Connections in the write pool. Default {@linkcode POSTGRES_POOL_SIZE}. */
  poolSize?: number;
  /** Told of problems the pool survived (`closed_socket_write.ts`). Default: none. */
  log?: (line: string) => void;
}

/** What a {@linkcode PostgresDatabase.dedicated} connection is told. */
export interface DedicatedConnectionEvents {
  /** The connection closed (ended by the server, the network, or PostgreSQL stopping). */
  onclose?: () => void;
  /** A notification arrived on a channel the connection listens to. */
  onnotify?: (channel: string, payload: string) => void;
}

/** One node's pools on the cluster's database, migrated to the current schema. */
export class PostgresDatabase {
  /** The pool for writes, and for reads that are part of a write. */
  readonly sql: Sql;
  /**
   * The pool for reads: its connections are read-only (`default_transaction_read_only`),
   * so a write sent to it by mistake fails instead of passing unnoticed.
   */
  readonly reads: Sql;
  /** Runs a write of more than one statement as one transaction (`transactions.ts`). */
  readonly transact: Transact;
  /** The database as `host:port/name`, without user or password: for messages. */
  readonly where: string;
  readonly #url: string;
  readonly #applicationName: string;
  readonly #poolSize: number;
  readonly #transactions: TransactionConnections;
  /** Operations under way ({@linkcode track}): closing waits for them. */
  readonly #running = new Set<Promise<unknown>>();
  /** Takes down the guard against postgres.js's write to a closed connection. */
  readonly #unguard: () => void;
  #closed: Promise<void> | undefined;

  private constructor(
    sql: Sql,
    reads: Sql,
    transactions: TransactionConnections,
    where: string,
    options: {
      url: string;
      applicationName: string;
      poolSize: number;
      log: ((line: string) => void) | undefined;
    },
  ) {
    this.sql = sql;
    this.reads = reads;
    this.#transactions = transactions;
    this.transact = transactions.transact;
    this.#unguard = guardClosedSocketWrites(() =>
      options.log?.(
        `PostgreSQL ${where}: a connection closed under a write postgres.js had deferred ` +
          "(porsager/postgres#1154); its query failed as the connection closed",
      )
    );
    this.where = where;
    this.#url = options.url;
    this.#applicationName = options.applicationName;
    this.#poolSize = options.poolSize;
  }

  /**
   * Connects to the database at `url` and migrates it.
   *
   * @param url a `postgres://` or `postgresql://` URL.
   * @param options pool settings.
   * @returns the database; close it when done.
   * @throws {StoreError} naming the database (never the password) when the URL is not a
   *   PostgreSQL URL, the server cannot be reached or refuses the login, or the schema is
   *   from a newer iotnet.
   */
  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresDatabase> {
    const where = describeUrl(url);
    const applicationName = options.applicationName ?? "iotnet";
    const poolSize = options.poolSize ?? POSTGRES_POOL_SIZE;
    const transactions = new TransactionConnections(
      (onclose) => singleConnection(url, `${applicationName} transactions`, { onclose }),
      POSTGRES_TRANSACTION_CONNECTIONS,
    );
    try {
      await migratePostgres(transactions.transact, where);
    } catch (error) {
      await transactions.end({ timeout: 0 });
      if (error instanceof StoreError) throw error;
      throw new StoreError(
        `cannot use PostgreSQL database ${where}: ${reason(error)}; ` +
          "check the --cluster URL and that PostgreSQL runs",
        { cause: error },
      );
    }
    const sql = postgres(url, { ...connectionOptions(applicationName), max: poolSize });
    const reads = postgres(url, {
      ...connectionOptions(`${applicationName} reads`, { default_transaction_read_only: true }),
      max: POSTGRES_READ_POOL_SIZE,
    });
    return new PostgresDatabase(sql, reads, transactions, where, {
      url,
      applicationName,
      poolSize,
      log: options.log,
    });
  }

  /**
   * Tries every connection of the pools once, so that none left from before the database
   * went away fails a device's command: after PostgreSQL restarted, a pooled connection may
   * still hold the shutdown's error for the next query it is given (seen here: `57P01` on
   * the first command after a restart). Never throws.
   */
  async refreshPool(): Promise<void> {
    const reserved = await Promise.allSettled([
      ...Array.from({ length: this.#poolSize }, () => this.sql.reserve()),
      ...Array.from({ length: POSTGRES_READ_POOL_SIZE }, () => this.reads.reserve()),
    ]);
    await Promise.allSettled([
      ...reserved.map(async (r) => {
        if (r.status === "rejected") return;
        try {
          await r.value`SELECT 1`;
        } finally {
          r.value.release();
        }
      }),
      this.#transactions.refresh(),
    ]);
  }

  /**
   * A connection of its own, outside the pool, that stays open while used (no idle or
   * lifetime limit): for a session advisory lock, or for LISTEN. postgres.js opens it at
   * the first query, and again at the next query after it closed (tell them apart with
   * `pg_backend_pid()`). End it with `end({ timeout: 0 })`.
   *
   * @param purpose shown in `pg_stat_activity` after the node's name.
   * @param events what the connection tells.
   */
  dedicated(purpose: string, events: DedicatedConnectionEvents = {}): Sql {
    return singleConnection(this.#url, `${this.#applicationName} ${purpose}`, events);
  }

  /**
   * Counts `operation` as under way until it settles, so that {@linkcode close} waits for
   * it (the pool alone would fail a query still waiting for a connection).
   *
   * @returns `operation`.
   */
  track<T>(operation: Promise<T>): Promise<T> {
    this.#running.add(operation);
    const done = () => this.#running.delete(operation);
    operation.then(done, done);
    return operation;
  }

  /** Waits for the operations under way, then closes every connection. Twice is harmless. */
  close(): Promise<void> {
    return this.#closed ??= (async () => {
      while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
      // Nothing is under way now; a connection stuck reconnecting to a database that has
      // gone would otherwise hold the close for ever.
      await Promise.all([
        this.sql.end({ timeout: POSTGRES_END_TIMEOUT_SECONDS }),
        this.reads.end({ timeout: POSTGRES_END_TIMEOUT_SECONDS }),
        this.#transactions.end({ timeout: POSTGRES_END_TIMEOUT_SECONDS }),
      ]);
      this.#unguard();
    })();
  }
}

/**
 * A pool of one connection named `name` that stays open while used (no idle or lifetime
 * limit); postgres.js opens it at the first query, and again at the next query after it
 * closed.
 */
function singleConnection(url: string, name: string, events: DedicatedConnectionEvents = {}): Sql {
  return postgres(url, {
    ...connectionOptions(name),
    max: 1,
    max_lifetime: null, // (and no idle_timeout: none is the default)
    ...(events.onclose && { onclose: events.onclose }),
    ...(events.onnotify && { onnotify: events.onnotify }),
  });
}

/**
 * What every connection of a node has: a timeout, no notices, its name in the server (and
 * `settings`, more run-time parameters).
 */
function connectionOptions(applicationName: string, settings: Record<string, boolean> = {}) {
  return {
    connect_timeout: POSTGRES_CONNECT_TIMEOUT_SECONDS,
    onnotice: () => {},
    connection: { application_name: applicationName, ...settings },
  };
}

/**
 * `host:port/database` of a PostgreSQL URL, leaving out user and password.
 *
 * @throws {StoreError} when `url` is not a `postgres://` or `postgresql://` URL.
 */
export function describeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    parsed = new URL("invalid:");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new StoreError(
      "the cluster URL is not a PostgreSQL URL; give one like " +
        "postgres://user:password@host:5432/iotnet",
    );
  }
  return `${parsed.hostname || "localhost"}:${parsed.port || "5432"}${parsed.pathname}`;
}

/** postgres.js's and the system's codes for a connection that failed or ended. */
const CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
]);

/**
 * Whether a database call failed because the database is out of reach (no connection, a
 * connection lost, the server shutting down or starting), not because of the call.
 *
 * @example
 * ```ts
 * import { isUnreachable } from "./database.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isUnreachable(Object.assign(new Error("refused"), { code: "ECONNREFUSED" })));
 * assert.ok(isUnreachable(Object.assign(new Error("shutting down"), { code: "57P01" })));
 * assert.ok(!isUnreachable(Object.assign(new Error("syntax"), { code: "42601" })));
 * ```
 */
export function isUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  // SQLSTATE 08: connection exception; 57P01-57P03: admin shutdown, crash, cannot connect now.
  return CONNECTION_CODES.has(code) || code.startsWith("08") || /^57P0[1-3]$/.test(code);
}

/** One line saying why a database call failed, without the password. */
export function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const message = error.message.split("\n", 1)[0]!.trim();
  return typeof code === "string" && !message.includes(code) ? `${message} (${code})` : message;
}
