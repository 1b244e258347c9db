/**
 * A node of a network of servers (SPEC §9) run in the test process: `startServer` with a
 * cluster URL on its own data directory, its log kept, stopped and started again on the
 * same data directory and node id. Async-disposable.
 *
 * @module
 */

import { join } from "node:path";
import { EdgeConnection } from "../../client/connection.ts";
import type { Push } from "../../protocol/messages.ts";
import { type IotServer, type ServerOptions, startServer } from "../../server/mod.ts";
import { waitUntil } from "./wait.ts";

/** Options of {@linkcode ClusterNode.start}: the server's, and its credentials file. */
export type ClusterNodeOptions = Partial<ServerOptions> & {
  /** The credentials file's text. Default: watch1..watch3 with pw1..pw3. */
  credentials?: string;
};

/** A node of the network, in process. */
export class ClusterNode implements AsyncDisposable {
  readonly nodeId: string;
  readonly dataDir: string;
  /** Every line the node logged, across restarts. */
  readonly logged: string[] = [];
  readonly #options: ServerOptions;
  #server: IotServer | undefined;

  private constructor(nodeId: string, dataDir: string, options: ServerOptions) {
    this.nodeId = nodeId;
    this.dataDir = dataDir;
    this.#options = options;
  }

  /** Starts node `nodeId` of the network on `clusterUrl`, on a fresh data directory. */
  static async start(
    clusterUrl: string,
    nodeId: string,
    options: ClusterNodeOptions = {},
  ): Promise<ClusterNode> {
    const { credentials = "watch1 pw1\nwatch2 pw2\nwatch3 pw3\n", ...server } = options;
    const dataDir = await Deno.makeTempDir({ prefix: `iotnet-${nodeId}-` });
    await Deno.writeTextFile(join(dataDir, "credentials.txt"), credentials);
    const node = new ClusterNode(nodeId, dataDir, {
      attempts: 3,
      ...server,
      dataDir,
      clusterUrl,
      nodeId,
    });
    await node.restart();
    return node;
  }

  /** The running server. */
  get server(): IotServer {
    if (!this.#server) throw new Error(`node ${this.nodeId} is stopped`);
    return this.#server;
  }

  /** Stops the server (its data directory stays). */
  async stop(): Promise<void> {
    await this.#server?.close();
    this.#server = undefined;
  }

  /** Starts the server (again) on the same data directory. */
  async restart(): Promise<void> {
    if (this.#server) return;
    this.#server = await startServer({
      ...this.#options,
      log: (line) => this.logged.push(line),
    });
  }

  /** A connection to the node, with the pushes it receives. */
  async connect(): Promise<{ connection: EdgeConnection; pushes: Push[] }> {
    const pushes: Push[] = [];
    const connection = await EdgeConnection.connect({
      hostname: this.server.hostname,
      port: this.server.port,
      onPush: (push) => pushes.push(push),
    });
    return { connection, pushes };
  }

  /** A logged-in device on this node. */
  async device(name: string, password: string): Promise<EdgeConnection> {
    const { connection } = await this.connect();
    await connection.request("login", { name, password });
    await connection.request("udp_port", { port: 9 });
    return connection;
  }

  /** Waits until the node has logged `line` (across restarts). */
  async waitForLog(line: string): Promise<void> {
    await waitUntil(() => this.logged.includes(line), `node ${this.nodeId} to log "${line}"`);
  }

  /** Logs `connection`'s device out and waits until this node has seen it leave. */
  async logout(connection: EdgeConnection, name: string): Promise<void> {
    const from = this.logged.length;
    connection.close();
    await waitUntil(
      () => this.logged.slice(from).some((l) => l.startsWith(`${name} left`)),
      `${name} to leave node ${this.nodeId}`,
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    await Deno.remove(this.dataDir, { recursive: true });
  }
}
