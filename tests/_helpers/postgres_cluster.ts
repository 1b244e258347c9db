/**
 * A throwaway PostgreSQL for tests: `initdb` in a temporary directory, `postgres` on a
 * free port of 127.0.0.1 (and a Unix socket in the same directory), stopped and removed on
 * disposal. Every test takes its own empty database from it ({@linkcode
 * PostgresCluster.database}), so tests that share a cluster never see each other's rows.
 *
 * When `IOTNET_TEST_POSTGRES_URL` is set (`.ci/run` starts one PostgreSQL for the whole
 * run), that server is used instead and nothing is started. When PostgreSQL is not
 * installed, {@linkcode startPostgres} returns `undefined` (the tests skip, saying so),
 * except under CI (`CI` set), where a missing PostgreSQL is an error.
 *
 * Runs as root too: `initdb` refuses root, so the cluster then belongs to the `postgres`
 * user and its programs run through `setpriv`.
 *
 * @module
 */

import { dirname, join } from "node:path";
import postgres from "postgres";
import { findCommand, TOOLS } from "../../scripts/tools.ts";
import { waitUntil } from "./wait.ts";

/** Where the PostgreSQL programs are: beside the `postgres` of the tool table. */
const PG_BIN = Deno.env.get("IOTNET_PG_BIN") ?? dirname(TOOLS.postgres.command);
/** The shared server `.ci/run` started, if any (a URL to its `postgres` database). */
const SHARED_URL_ENV = "IOTNET_TEST_POSTGRES_URL";
/** How long PostgreSQL has to start or stop. */
const START_TIMEOUT_MS = 30_000;
/** Ports tried for a new cluster (PostgreSQL cannot bind port 0 and print the port). */
const PORT_RANGE = { from: 20_000, size: 30_000 };
const PORT_TRIES = 5;

/** A running PostgreSQL server that hands out fresh databases. */
export class PostgresCluster implements AsyncDisposable {
  /** URL of the server's maintenance database (`postgres`). */
  readonly url: string;
  readonly #dir: string | undefined;
  #server: Deno.ChildProcess | undefined;
  readonly #port: number;
  readonly #durable: boolean;
  #databases = 0;

  private constructor(url: string, port: number, dir?: string, durable = false) {
    this.url = url;
    this.#port = port;
    this.#dir = dir;
    this.#durable = durable;
  }

  /** Uses a server that runs already (CI's); disposal leaves it running. */
  static shared(url: string): PostgresCluster {
    return new PostgresCluster(url, Number(new URL(url).port || 5432));
  }

  /**
   * Makes a new cluster in a temporary directory and starts it.
   *
   * @param options `durable`: commits are fsynced, as PostgreSQL's defaults have it (for
   *   benchmarks); by default they are not (`fsync=off`: tests need no durability).
   */
  static async create(options: { durable?: boolean } = {}): Promise<PostgresCluster> {
    const dir = await Deno.makeTempDir({ prefix: "iotnet-pg-" });
    try {
      if (asRoot()) await run(["chown", "postgres:postgres", dir]);
      await runPg("initdb", [
        "-D",
        join(dir, "data"),
        "-U",
        "iotnet",
        "-A",
        "trust",
        "--no-sync",
        "-E",
        "UTF8",
        "--locale=C",
      ]);
      for (let attempt = 1;; attempt++) {
        const port = PORT_RANGE.from + Math.floor(Math.random() * PORT_RANGE.size);
        const cluster = new PostgresCluster(
          `postgres://iotnet@127.0.0.1:${port}/postgres`,
          port,
          dir,
          options.durable ?? false,
        );
        try {
          await cluster.start();
          return cluster;
        } catch (error) {
          if (attempt >= PORT_TRIES) throw error;
        }
      }
    } catch (error) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  /** Whether this helper runs the server, so a test may stop and start it (not CI's). */
  get ownsServer(): boolean {
    return this.#dir !== undefined;
  }

  /** A URL to a new, empty database on this server. */
  async database(): Promise<string> {
    const name = `t${Deno.pid}_${Date.now().toString(36)}_${this.#databases++}`;
    const sql = postgres(this.url, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(`CREATE DATABASE ${name}`);
    } finally {
      await sql.end();
    }
    const url = new URL(this.url);
    url.pathname = `/${name}`;
    return url.href;
  }

  /** Drops a database {@linkcode database} made, ending the sessions still on it. */
  async dropDatabase(url: string): Promise<void> {
    const name = new URL(url).pathname.slice(1);
    const sql = postgres(this.url, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await sql.end();
    }
  }

  /** Starts the server of a cluster this helper made (again, after {@linkcode stop}). */
  async start(): Promise<void> {
    if (this.#dir === undefined) throw new Error("a shared PostgreSQL is not started here");
    if (this.#server) return;
    const server = pgCommand("postgres", [
      "-D",
      join(this.#dir, "data"),
      "-p",
      String(this.#port),
      "-k",
      this.#dir,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      `fsync=${this.#durable ? "on" : "off"}`,
      "-c",
      "max_connections=200",
      // Nobody reads a long-running server's stderr: a pipe would fill and stop it.
    ], "null").spawn();
    this.#server = server;
    let exited = false;
    const status = server.status.then(() => exited = true);
    try {
      await waitUntil(
        async () => exited || await this.#accepts(),
        `PostgreSQL on port ${this.#port}`,
        START_TIMEOUT_MS,
        50,
      );
    } catch (error) {
      await this.stop();
      throw error;
    }
    if (exited) {
      this.#server = undefined;
      await status;
      throw new Error(`PostgreSQL could not start on port ${this.#port}`);
    }
  }

  /** Stops the server (fast shutdown: sessions are ended), keeping its data. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    try {
      server.kill("SIGINT");
    } catch {
      // Already gone.
    }
    await server.status;
  }

  async #accepts(): Promise<boolean> {
    const sql = postgres(this.url, { max: 1, connect_timeout: 1, onnotice: () => {} });
    try {
      await sql`SELECT 1`;
      return true;
    } catch {
      return false;
    } finally {
      await sql.end({ timeout: 0 });
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    if (this.#dir !== undefined) await Deno.remove(this.#dir, { recursive: true });
  }
}

/**
 * A PostgreSQL for a test file: CI's shared server, else a new cluster, else (not
 * installed, not under CI) `undefined` after saying why the tests skip.
 *
 * @param who names the tests, for the skip message.
 */
export async function startPostgres(who: string): Promise<PostgresCluster | undefined> {
  const shared = Deno.env.get(SHARED_URL_ENV);
  if (shared) return PostgresCluster.shared(shared);
  if (!postgresInstalled()) {
    if (Deno.env.get("CI")) {
      throw new Error(`PostgreSQL is not installed in ${PG_BIN}: run .ci/run, which installs it`);
    }
    console.log(`${who}: skipped, PostgreSQL is not installed in ${PG_BIN}`);
    return undefined;
  }
  return await PostgresCluster.create();
}

/** A behaviour tested on a database of its own, given its URL. */
export type DatabaseCase = [name: string, fn: (url: string) => Promise<void>];

/**
 * Registers the test `name`: one throwaway PostgreSQL (ignored where PostgreSQL is not
 * installed), each case a step on a new database of it, dropped after it. The cases share
 * the cost of starting PostgreSQL, not their rows.
 */
export function testOnDatabases(name: string, cases: readonly DatabaseCase[]): void {
  Deno.test({
    name,
    ignore: !postgresInstalled(),
    async fn(t) {
      await using pg = await startPostgres(name);
      for (const [step, fn] of cases) {
        await t.step(step, async () => {
          const url = await pg!.database();
          try {
            await fn(url);
          } finally {
            await pg!.dropDatabase(url);
          }
        });
      }
    },
  });
}

/** Whether this machine can make a throwaway cluster. */
export function postgresInstalled(): boolean {
  return Boolean(Deno.env.get(SHARED_URL_ENV)) ||
    (findCommand(join(PG_BIN, "initdb")) !== undefined &&
      findCommand(join(PG_BIN, "postgres")) !== undefined);
}

function asRoot(): boolean {
  return Deno.uid() === 0;
}

/** A PostgreSQL program, run as `postgres` when this process is root. */
function pgCommand(program: string, args: string[], stderr: "piped" | "null"): Deno.Command {
  const path = join(PG_BIN, program);
  const options = { stdin: "null", stdout: "null", stderr } as const;
  return asRoot()
    ? new Deno.Command("setpriv", {
      // setpriv execs the program (runuser would fork and keep our stop signal to itself).
      args: ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", path, ...args],
      ...options,
    })
    : new Deno.Command(path, { args, ...options });
}

async function runPg(program: string, args: string[]): Promise<void> {
  const { code, stderr } = await pgCommand(program, args, "piped").output();
  if (code !== 0) {
    throw new Error(`${program} failed (exit ${code}): ${new TextDecoder().decode(stderr).trim()}`);
  }
}

async function run(args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(args[0]!, {
    args: args.slice(1),
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`${args[0]} failed (exit ${code}): ${new TextDecoder().decode(stderr).trim()}`);
  }
}
