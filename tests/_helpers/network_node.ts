/**
 * Nodes of a network (SPEC §9) in the test's own process: `startServer` with a cluster URL
 * on a fresh data directory, in real time (a node's lease runs on the database's clock),
 * with its event log kept and edges that keep their pushes (`in_process_server.ts`).
 *
 * @module
 */

import { join } from "node:path";
import type { Clock } from "../../internal/mod.ts";
import type { LivenessTiming } from "../../server/cluster/node_liveness.ts";
import { type IotServer, startServer } from "../../server/mod.ts";
import { HASH_PROFILES } from "../../server/password_hash.ts";
import { Arrivals, connectTestEdge, logIn, type TestEdge } from "./in_process_server.ts";
import { ACCOUNTS } from "./server_process.ts";

/** Options of {@linkcode NetworkNode.start}. */
export interface NetworkNodeOptions {
  /** The node's clock. Default: the system clock. */
  clock?: Clock;
  /** Heartbeat, lease and sweep figures. Default: the server's (`LIVENESS_TIMING`). */
  timing?: LivenessTiming;
}

/** A node of a network, in this process. */
export class NetworkNode implements AsyncDisposable {
  readonly nodeId: string;
  readonly server: IotServer;
  readonly dataDir: string;
  /** The node's event log. */
  readonly log: Arrivals<string>;
  readonly #edges = new Set<TestEdge>();

  private constructor(nodeId: string, server: IotServer, dataDir: string, log: Arrivals<string>) {
    this.nodeId = nodeId;
    this.server = server;
    this.dataDir = dataDir;
    this.log = log;
  }

  /** Starts node `nodeId` of the network on `url`, knowing `ACCOUNTS`. */
  static async start(
    url: string,
    nodeId: string,
    options: NetworkNodeOptions = {},
  ): Promise<NetworkNode> {
    const dataDir = await Deno.makeTempDir({ prefix: `iotnet-${nodeId}-` });
    await Deno.writeTextFile(
      join(dataDir, "credentials.txt"),
      Object.entries(ACCOUNTS).map(([name, password]) => `${name} ${password}\n`).join(""),
    );
    const log = new Arrivals<string>();
    const server = await startServer({
      attempts: 3,
      dataDir,
      clusterUrl: url,
      nodeId,
      ...(options.timing && { clusterTiming: options.timing }),
      keepaliveMs: 0,
      hashParams: HASH_PROFILES.fast,
      ...(options.clock && { clock: options.clock }),
      log: (line) => log.add(line),
    });
    return new NetworkNode(nodeId, server, dataDir, log);
  }

  /** The device port. */
  get port(): number {
    return this.server.port;
  }

  /** Connects an edge that has said hello, not logged in. */
  async connect(): Promise<TestEdge> {
    const edge = await connectTestEdge(this.server);
    this.#edges.add(edge);
    return edge;
  }

  /** Connects an edge and logs it in as `name`: an active device. */
  async login(name: string): Promise<TestEdge> {
    return await logIn(await this.connect(), name);
  }

  /** The first log line matching `pattern`, already logged or still to come. */
  waitForLog(pattern: RegExp, timeoutMs = 5_000): Promise<string> {
    return this.log.first((line) => pattern.test(line), `${this.nodeId}: ${pattern}`, timeoutMs);
  }

  /** A file of the data directory, as text. */
  read(path: string): Promise<string> {
    return Deno.readTextFile(join(this.dataDir, path));
  }

  /** The names in `edge-device-log.txt`, in its order. */
  async activeLog(): Promise<string[]> {
    const text = await this.read("edge-device-log.txt");
    return text.split("\n").filter((l) => l !== "").map((l) => l.split("; ")[2]!);
  }

  /** Closes the edges and the server (a clean stop); the data directory stays. */
  async close(): Promise<void> {
    for (const edge of this.#edges) edge.connection.close();
    await this.server.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
    await Deno.remove(this.dataDir, { recursive: true });
  }
}

/** Nodes `node-a`, `node-b`, ... of the network on `url`, closed together. */
export async function startNodes(
  url: string,
  count: number,
): Promise<{ nodes: NetworkNode[]; [Symbol.asyncDispose](): Promise<void> }> {
  const nodes: NetworkNode[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(await NetworkNode.start(url, `node-${String.fromCharCode(97 + i)}`));
  }
  return {
    nodes,
    async [Symbol.asyncDispose]() {
      await Promise.all(nodes.map((node) => node[Symbol.asyncDispose]()));
    },
  };
}
