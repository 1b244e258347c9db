/**
 * The PostgreSQL database under a clustered server: one connection pool, opened once per
 * node, migrated before use (`migrations.ts`). The repositories (`store.ts`) and the
 * cluster's registry share this pool.
 *
 * @module
 */

import postgres, { type Sql } from "postgres";
import { StoreError } from "../store_error.ts";
import { migratePostgres } from "./migrations.ts";

/** Connections one node keeps to PostgreSQL at most (LISTEN takes one more of its own). */
export const POSTGRES_POOL_SIZE = 8;
/** Seconds a new connection to PostgreSQL may take before the attempt fails. */
export const POSTGRES_CONNECT_TIMEOUT_SECONDS = 5;

/** Options of {@linkcode openPostgres}. */
export interface PostgresOptions {
  /** Shown in `pg_stat_activity` (`application_name`). Default `iotnet`. */
  applicationName?: string;
  /** Connections in the pool. Default {@linkcode POSTGRES_POOL_SIZE}. */
  poolSize?: number;
}

/** One node's pool on the cluster's database, migrated to the current schema. */
export class PostgresDatabase {
  /** The pool. */
  readonly sql: Sql;
  /** The database as `host:port/name`, without user or password: for messages. */
  readonly where: string;
  /** Operations under way ({@linkcode track}): closing waits for them. */
  readonly #running = new Set<Promise<unknown>>();
  #closed: Promise<void> | undefined;

  private constructor(sql: Sql, where: string) {
    this.sql = sql;
    this.where = where;
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
    const sql = postgres(url, {
      max: options.poolSize ?? POSTGRES_POOL_SIZE,
      connect_timeout: POSTGRES_CONNECT_TIMEOUT_SECONDS,
      onnotice: () => {},
      connection: { application_name: options.applicationName ?? "iotnet" },
    });
    try {
      await migratePostgres(sql, where);
    } catch (error) {
      await sql.end({ timeout: 0 });
      if (error instanceof StoreError) throw error;
      throw new StoreError(
        `cannot use PostgreSQL database ${where}: ${reason(error)}; ` +
          "check the --cluster URL and that PostgreSQL runs",
        { cause: error },
      );
    }
    return new PostgresDatabase(sql, where);
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

  /**
   * Listens on `channel` over the pool's one listening connection (postgres.js opens it
   * at the first call and shares it between channels).
   *
   * @param channel the channel.
   * @param onNotify called with each notification's payload.
   * @param onListen called after each LISTEN: the first, and each one postgres.js makes
   *   again after the listening connection was lost (notifications sent meanwhile are lost:
   *   take what they announced from the rows).
   * @returns the subscription; `unlisten` ends it.
   */
  async listen(
    channel: string,
    onNotify: (payload: string) => void,
    onListen: () => void,
  ): Promise<{ unlisten(): Promise<void> }> {
    const { unlisten } = await this.sql.listen(channel, onNotify, onListen);
    return { unlisten: async () => void await unlisten() };
  }

  /** Waits for the operations under way, then closes every connection. Twice is harmless. */
  close(): Promise<void> {
    return this.#closed ??= (async () => {
      while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
      await this.sql.end();
    })();
  }
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

/** One line saying why a database call failed, without the password. */
export function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const message = error.message.split("\n", 1)[0]!.trim();
  return typeof code === "string" && !message.includes(code) ? `${message} (${code})` : message;
}
