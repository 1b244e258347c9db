/**
 * The SQLite database under the store (`node:sqlite`): opening it (refusing a file that is
 * not a database or is from a newer iotnet, never replacing it), migrating its schema,
 * prepared statements and nestable transactions. Writes go through the group commit
 * (`group_commit.ts`), never straight here.
 *
 * @module
 */

import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { migrate, SCHEMA_VERSION } from "./migrations.ts";
import { StoreError } from "./store_error.ts";

/** Milliseconds a statement waits for a lock held by another connection. */
const BUSY_TIMEOUT_MS = 5_000;

/** One open SQLite database at the current schema version. */
export class Database {
  /** The database file (or `:memory:`). */
  readonly path: string;
  readonly #db: DatabaseSync;
  /** Prepared statements by SQL text: compiled once, not on every call. */
  readonly #statements = new Map<string, StatementSync>();
  /** Savepoints open now (for unique names). */
  #savepoints = 0;
  /** The write-ahead log, when the database has one (not for `:memory:`). */
  readonly walPath: string | undefined;

  /**
   * Opens (creating if needed) and migrates the database at `path`, in WAL mode with
   * `synchronous = NORMAL`: a commit writes the WAL without syncing it, and the group
   * commit syncs it off the event loop's thread (`group_commit.ts`).
   *
   * @param path the database file, or `:memory:`.
   * @throws {StoreError} when the file is not a database or is from a newer version.
   */
  constructor(path: string) {
    this.path = path;
    let db: DatabaseSync | undefined;
    try {
      this.#db = db = new DatabaseSync(path);
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // Refuse a newer schema before anything (even the journal mode) touches the file.
      const version = this.#userVersion();
      const { journal_mode } = this.get<{ journal_mode: string }>("PRAGMA journal_mode = WAL")!;
      db.exec("PRAGMA synchronous = NORMAL");
      migrate(db, version);
      this.walPath = journal_mode === "wal" ? `${path}-wal` : undefined;
    } catch (error) {
      if (db?.isOpen) db.close();
      if (error instanceof StoreError) throw error;
      throw new StoreError(
        `cannot open database ${path}: ${firstLine((error as Error).message)}; ` +
          "move the file away to start with an empty store",
        { cause: error },
      );
    }
  }

  #userVersion(): number {
    const version = this.get<{ user_version: number }>("PRAGMA user_version")!.user_version;
    if (version > SCHEMA_VERSION) {
      throw new StoreError(
        `database ${this.path} has schema version ${version}, newer than this iotnet's ` +
          `${SCHEMA_VERSION}; run a newer iotnet or move the file away`,
      );
    }
    return version;
  }

  /** Whether the database is open. */
  get isOpen(): boolean {
    return this.#db.isOpen;
  }

  /** Runs SQL without results (transaction control, pragmas). */
  exec(sql: string): void {
    this.#db.exec(sql);
  }

  /** Runs a statement that changes rows; returns how many it changed. */
  run(sql: string, ...values: SQLInputValue[]): number {
    return Number(this.#statement(sql).run(...values).changes);
  }

  /** Runs an INSERT; returns the new row's id. */
  insert(sql: string, ...values: SQLInputValue[]): number {
    return Number(this.#statement(sql).run(...values).lastInsertRowid);
  }

  /** The first row of a query, if any. */
  get<Row>(sql: string, ...values: SQLInputValue[]): Row | undefined {
    return this.#statement(sql).get(...values) as Row | undefined;
  }

  /** Every row of a query. */
  all<Row>(sql: string, ...values: SQLInputValue[]): Row[] {
    return this.#statement(sql).all(...values) as Row[];
  }

  /**
   * Runs `work` atomically. Nestable: inside a transaction it is a savepoint, so a
   * failure rolls back `work` alone.
   *
   * @throws whatever `work` throws, after rolling its changes back.
   */
  transaction<T>(work: () => T): T {
    const name = `s${this.#savepoints++}`;
    this.#db.exec(`SAVEPOINT ${name}`);
    try {
      const result = work();
      this.#db.exec(`RELEASE ${name}`);
      return result;
    } catch (error) {
      this.#db.exec(`ROLLBACK TO ${name}`);
      this.#db.exec(`RELEASE ${name}`);
      throw error;
    } finally {
      this.#savepoints--;
    }
  }

  /** Whether a transaction is open. */
  get inTransaction(): boolean {
    return this.#db.isTransaction;
  }

  /** Closes the database; SQLite checkpoints the WAL into the file and syncs it. */
  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }

  /** The prepared statement for `sql`, compiled on first use. */
  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

/** SQLite quotes the failing statement after a newline; the reason is the first line. */
function firstLine(message: string): string {
  return message.split("\n", 1)[0]!.replace(/ in$/, "").trim();
}
