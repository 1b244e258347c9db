/**
 * Two figures of a network of servers (SPEC §9, docs/DECISIONS.md "One network on
 * PostgreSQL"), on a throwaway PostgreSQL: the latency of a direct message between devices
 * on two nodes (server processes) when idle, from the sender's request to the recipient's
 * push, one message at a time; and how long after a `kill -9` of a node the other node's
 * devices are told its device went offline.
 *
 * ```
 * deno run -A scripts/experiments/cluster_latency.ts [--messages 1000] [--kills 5]
 * ```
 *
 * @module
 */

import { numberOption, parseCli } from "../_cli.ts";
import { machineBusySeconds, percentile } from "../bench/helpers.ts";
import { connectTestEdge, logIn, type TestEdge } from "../../tests/_helpers/in_process_server.ts";
import { startPostgres } from "../../tests/_helpers/postgres_cluster.ts";
import { ServerProcess } from "../../tests/_helpers/server_process.ts";

const USAGE = `usage: deno run -A scripts/experiments/cluster_latency.ts [options]
  --messages N  messages timed between two nodes, 1..100000 (default 1000)
  --kills N     kill -9 rounds, 0..100 (default 5)`;

/** A node of the network on `url`, as a server process. */
function node(url: string, nodeId: string): Promise<ServerProcess> {
  return ServerProcess.start({ args: ["--cluster", url, "--node-id", nodeId] });
}

/** Two nodes `<prefix>-a`, `<prefix>-b` on `url`, device `names[i]` logged in through node i. */
async function twoNodes(url: string, prefix: string, names: [string, string]) {
  const nodes = [await node(url, `${prefix}-a`), await node(url, `${prefix}-b`)];
  const edges = await Promise.all(
    nodes.map(async (n, i) =>
      await logIn(await connectTestEdge({ hostname: "127.0.0.1", port: n.port }), names[i]!)
    ),
  );
  return {
    nodes,
    edges,
    async [Symbol.asyncDispose]() {
      for (const edge of edges) edge.connection.close();
      await Promise.all(nodes.map((n) => n[Symbol.asyncDispose]()));
    },
  };
}

/** Milliseconds per direct message between devices on two nodes, one at a time. */
async function messageLatencies(url: string, count: number): Promise<number[]> {
  await using network = await twoNodes(url, "node", ["watch1", "watch2"]);
  const [sender, recipient] = network.edges as [TestEdge, TestEdge];
  const times: number[] = [];
  for (let i = 0; i < count + 20; i++) {
    const text = `m${i}`;
    const started = performance.now();
    const arrived = recipient.push((p) => p.event === "message" && p.text === text);
    await sender.connection.request("message", { to: "watch2", text });
    await arrived;
    // The first messages open the pools' connections: not what an idle network costs.
    if (i >= 20) times.push(performance.now() - started);
  }
  return times;
}

/** Milliseconds from a node's SIGKILL to the offline notice on the other node. */
async function killNotice(url: string, round: number): Promise<number> {
  await using network = await twoNodes(url, `kill-${round}`, ["dev1", "dev2"]);
  const watcher = network.edges[1]!;
  const offline = watcher.push(
    (p) => p.event === "presence" && p.device === "dev1" && p.state === "offline",
    "dev1 offline",
    10_000,
  );
  const killed = performance.now();
  await network.nodes[0]!.stop("SIGKILL");
  await offline;
  return performance.now() - killed;
}

if (import.meta.main) {
  const { values } = parseCli(Deno.args, {
    usage: USAGE,
    options: { messages: { type: "string" }, kills: { type: "string" } },
  });
  const messages = numberOption(values.messages, {
    whole: true,
    name: "--messages",
    min: 1,
    max: 100_000,
    fallback: 1000,
    usage: USAGE,
  });
  const kills = numberOption(values.kills, {
    whole: true,
    name: "--kills",
    min: 0,
    max: 100,
    fallback: 5,
    usage: USAGE,
  });
  await using pg = await startPostgres("cluster latency");
  if (!pg) Deno.exit(1);
  const busyBefore = machineBusySeconds();
  const wallBefore = performance.now();
  const times = await messageLatencies(await pg.database(), messages);
  const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
  console.log(
    `cross-node message, ${times.length} one at a time: p50 ${fmt(percentile(times, 50))}, ` +
      `p99 ${fmt(percentile(times, 99))}, max ${fmt(Math.max(...times))}`,
  );
  const notices: number[] = [];
  for (let round = 0; round < kills; round++) {
    notices.push(await killNotice(await pg.database(), round));
  }
  if (kills > 0) {
    console.log(
      `kill -9 of a node to its device offline on another: ${
        notices.map((n) => fmt(n)).join(", ")
      }`,
    );
  }
  const wallS = (performance.now() - wallBefore) / 1000;
  const busy = (machineBusySeconds() - busyBefore) / wallS;
  console.log(`machine busy (all cores) ${busy.toFixed(2)} cores on average while measuring`);
}
