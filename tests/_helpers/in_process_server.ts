/**
 * The server and its edges in the test's own process, in virtual time: `startServer` on
 * port 0 with a {@linkcode ManualClock}, edges as {@linkcode EdgeConnection}s (or
 * `RawClient`s for misbehaving peers) on that port. A test drives both sides and moves
 * time with {@linkcode TestServer.advance}: a 10 s block or a 60 s deadline costs nothing.
 *
 * What the clock drives: login, frame and idle deadlines, block expiry, the close flush of
 * a peer that stopped reading, private-chat request expiry, the upload turn's idle watch,
 * timestamps (`whoelsesince`, history), the keepalive when a test turns it on (off by
 * default here). Not the store's group commit, which paces disk
 * syncs in real time (`server/server.ts`), so stored changes need no `advance`.
 *
 * Timers are set when the server has read what arms them: before advancing past a deadline
 * the test waits for the timer to exist ({@linkcode TestServer.waitForTimers}), never sleeps.
 *
 * @module
 */

import { join } from "node:path";
import { ManualClock } from "../../internal/clock.ts";
import { EdgeConnection } from "../../client/connection.ts";
import type { Push, PushFields } from "../../protocol/messages.ts";
import { type IotServer, type ServerOptions, startServer } from "../../server/mod.ts";
import { HASH_PROFILES } from "../../server/password_hash.ts";
import { ACCOUNTS } from "./server_process.ts";
import { waitUntil } from "./wait.ts";

/** Options of {@linkcode TestServer.start}: `ServerOptions` but the harness's own. */
export interface TestServerOptions
  extends Partial<Omit<ServerOptions, "clock" | "log" | "dataDir" | "port" | "hostname">> {
  /** Accounts in the credentials file (plain passwords). Default: `ACCOUNTS`. */
  accounts?: Record<string, string>;
}

/** Items that arrive over time, with a wait for the first that matches. */
export class Arrivals<T> {
  /** Everything that arrived, oldest first. */
  readonly items: T[] = [];
  readonly #waiters = new Set<
    { match: (item: T) => boolean; resolve: (index: number) => void }
  >();

  /** Adds an item and wakes whoever waits for it. */
  add(item: T): void {
    const index = this.items.push(item) - 1;
    for (const waiter of this.#waiters) {
      if (!waiter.match(item)) continue;
      this.#waiters.delete(waiter);
      waiter.resolve(index);
    }
  }

  /**
   * The first item (already here or still to come) that matches.
   *
   * @throws {Error} naming `what` after `timeoutMs` of real time.
   */
  async first(match: (item: T) => boolean, what: string, timeoutMs = 5_000): Promise<T> {
    return this.items[await this.indexOf(match, { what, timeoutMs })]!;
  }

  /**
   * The index of the first item at or after `from` (already here or still to come) that
   * matches.
   *
   * @throws {Error} naming `what` after `timeoutMs` of real time.
   */
  async indexOf(
    match: (item: T) => boolean,
    options: { what: string; timeoutMs?: number; from?: number },
  ): Promise<number> {
    const { what, timeoutMs = 5_000, from = 0 } = options;
    const found = this.items.findIndex((item, i) => i >= from && match(item));
    if (found >= 0) return found;
    const { promise, resolve } = Promise.withResolvers<number>();
    const waiter = { match, resolve };
    this.#waiters.add(waiter);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([promise, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A server in this process on a fresh data directory, in virtual time. */
export class TestServer implements AsyncDisposable {
  /** The server's time: moves only when the test says. */
  readonly clock: ManualClock;
  readonly server: IotServer;
  readonly dataDir: string;
  /** The server's event log. */
  readonly log: Arrivals<string>;
  readonly #edges = new Set<TestEdge>();

  private constructor(
    server: IotServer,
    clock: ManualClock,
    dataDir: string,
    log: Arrivals<string>,
  ) {
    this.server = server;
    this.clock = clock;
    this.dataDir = dataDir;
    this.log = log;
  }

  /** Starts a server on port 0 with a manual clock set to the real time. */
  static async start(options: TestServerOptions = {}): Promise<TestServer> {
    const { accounts = ACCOUNTS, ...rest } = options;
    const dataDir = await Deno.makeTempDir({ prefix: "iotnet-inproc-" });
    await Deno.writeTextFile(
      join(dataDir, "credentials.txt"),
      Object.entries(accounts).map(([name, password]) => `${name} ${password}\n`).join(""),
    );
    const clock = new ManualClock(Date.now());
    const log = new Arrivals<string>();
    const server = await startServer({
      attempts: 3,
      // The edges here answer keepalives in real time, not in the server's virtual time:
      // keepalive is off unless a test asks for it (tests/server_keepalive_test.ts).
      keepaliveMs: 0,
      // As the spawned test servers (IOTNET_HASH_PROFILE=fast): the dummy check of a
      // plain-text account costs 1 ms, not 50.
      hashParams: HASH_PROFILES.fast,
      ...rest,
      dataDir,
      clock,
      log: (line) => log.add(line),
    });
    return new TestServer(server, clock, dataDir, log);
  }

  get port(): number {
    return this.server.port;
  }

  /** Moves the server's time forward, firing what falls due. */
  advance(ms: number): void {
    this.clock.advance(ms);
  }

  /** Waits (in real time) until at least `count` timers are pending on the clock. */
  async waitForTimers(count: number, timeoutMs = 5_000): Promise<void> {
    await waitUntil(() => this.clock.pending >= count, `${count} pending timers`, timeoutMs, 1);
  }

  /** The first log line matching `pattern`, already logged or still to come. */
  waitForLog(pattern: RegExp, timeoutMs = 5_000): Promise<string> {
    return this.log.first(
      (line) => pattern.test(line),
      `a log line matching ${pattern}`,
      timeoutMs,
    );
  }

  /** A file of the data directory, as text. */
  read(path: string): Promise<string> {
    return Deno.readTextFile(join(this.dataDir, path));
  }

  /** Connects an edge that has said hello, not logged in. */
  async connect(): Promise<TestEdge> {
    const edge = await connectTestEdge(this.server);
    this.#edges.add(edge);
    return edge;
  }

  /** Connects an edge, logs it in as `name` and registers a UDP port: an active device. */
  async login(name: string, password = ACCOUNTS[name] ?? ""): Promise<TestEdge> {
    return await logIn(await this.connect(), name, password);
  }

  /** Closes the edges, stops the server and removes its data directory. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const edge of this.#edges) edge.connection.close();
    await this.server.close();
    // A session whose peer stopped reading gives its output up only at the close flush.
    this.clock.advance(60_000);
    await Deno.remove(this.dataDir, { recursive: true });
  }
}

/** Connects an edge to `server` (in process or not) that has said hello, not logged in. */
export async function connectTestEdge(
  server: Pick<IotServer, "hostname" | "port">,
): Promise<TestEdge> {
  const pushes = new Arrivals<Push>();
  const connection = await EdgeConnection.connect({
    hostname: server.hostname,
    port: server.port,
    onPush: (push) => pushes.add(push),
  });
  return new TestEdge(connection, pushes);
}

/** Logs `edge` in as `name` and registers UDP port 9: an active device. */
export async function logIn(
  edge: TestEdge,
  name: string,
  password = ACCOUNTS[name] ?? "",
): Promise<TestEdge> {
  await edge.connection.request("login", { name, password });
  await edge.connection.request("udp_port", { port: 9 });
  return edge;
}

/** An edge connected to a {@linkcode TestServer}, with the pushes it received. */
export class TestEdge {
  readonly connection: EdgeConnection;
  readonly pushes: Arrivals<Push>;

  constructor(connection: EdgeConnection, pushes: Arrivals<Push>) {
    this.connection = connection;
    this.pushes = pushes;
  }

  /** The first push matching `match`, already received or still to come. */
  push(match: (push: Push) => boolean, what = "a push", timeoutMs = 5_000): Promise<Push> {
    return this.pushes.first(match, what, timeoutMs);
  }

  /** The `logout` push the server sent, already received or still to come. */
  async logout(timeoutMs = 5_000): Promise<PushFields<"logout">> {
    const push = await this.push((p) => p.event === "logout", "a logout push", timeoutMs);
    return push as PushFields<"logout">;
  }
}
