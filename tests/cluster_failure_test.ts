/**
 * Nodes of a network (SPEC §9) that die or freeze, as real server processes on one
 * throwaway PostgreSQL: a node killed with SIGKILL is noticed by the others through its
 * advisory lock and its devices may log in elsewhere; a node frozen with SIGSTOP past its
 * lease is swept on the database's clock, and when it resumes it fences itself, so a name
 * is never served twice past the lease. The node that sweeps a dead node's devices ends
 * their private chats.
 */

import assert from "node:assert/strict";
import { AlreadyActiveError } from "../protocol/errors.ts";
import { connectTestEdge, logIn, type TestEdge } from "./_helpers/in_process_server.ts";
import { type DatabaseCase, testOnDatabases } from "./_helpers/postgres_cluster.ts";
import { ServerProcess } from "./_helpers/server_process.ts";
import { waitUntil } from "./_helpers/wait.ts";

/** A node of the network on `url`, as a server process. */
function nodeProcess(url: string, nodeId: string): Promise<ServerProcess> {
  return ServerProcess.start({ args: ["--cluster", url, "--node-id", nodeId] });
}

/** An edge connected to `node`, logged in as `name`. */
async function loginThrough(node: ServerProcess, name: string): Promise<TestEdge> {
  return await logIn(await connectTestEdge({ hostname: "127.0.0.1", port: node.port }), name);
}

/** The names in a node's `edge-device-log.txt`, in order. */
async function activeLog(node: ServerProcess): Promise<string[]> {
  const text = await node.read("edge-device-log.txt");
  return text.split("\n").filter((l) => l !== "").map((l) => l.split("; ")[2]!);
}

/**
 * Nodes `node-1` and `node-2` on `url` as server processes, `watch1` logged in through the
 * first, `watch2` through the second.
 */
async function twoNodes(url: string) {
  const n1 = await nodeProcess(url, "node-1");
  const n2 = await nodeProcess(url, "node-2");
  return {
    n1,
    n2,
    w1: await loginThrough(n1, "watch1"),
    w2: await loginThrough(n2, "watch2"),
    async [Symbol.asyncDispose]() {
      await Promise.all([n1[Symbol.asyncDispose](), n2[Symbol.asyncDispose]()]);
    },
  };
}

/** The behaviours, each on its own database of one throwaway PostgreSQL. */
const FAILURES: DatabaseCase[] = [[
  "a node killed with SIGKILL: its devices are offline for the others within 10 s and may log in elsewhere",
  async (url) => {
    await using network = await twoNodes(url);
    const { n1, n2, w1, w2 } = network;
    assert.deepEqual((await w2.connection.request("whoelse", {})).devices, ["watch1"]);
    // A private chat between the two nodes' devices.
    await w1.connection.request("startprivate", { device: "watch2" });
    await w2.push((p) => p.event === "private" && p.state === "requested");
    await w2.connection.request("private_answer", { device: "watch1", accept: true });
    await w1.push((p) => p.event === "private" && p.state === "accepted");
    const killedAt = performance.now();
    await n1.stop("SIGKILL");
    await w2.push(
      (p) => p.event === "presence" && p.device === "watch1" && p.state === "offline",
      "watch1 announced offline",
      10_000,
    );
    const noticedMs = Math.round(performance.now() - killedAt);
    console.log(`node-1 killed: watch1 offline on node-2 after ${noticedMs} ms`);
    assert.ok(noticedMs < 10_000);
    await n2.waitForLog(
      /cluster: node node-1 \(epoch 1\) is gone: watch1 was logged in through it/,
    );
    // The node that swept it ended its chat.
    await w2.push((p) => p.event === "private" && p.state === "ended" && p.device === "watch1");
    // The name is free: it logs in through node-2, which lists it once.
    w1.connection.close();
    const again = await loginThrough(n2, "watch1");
    assert.deepEqual((await again.connection.request("whoelse", {})).devices, ["watch2"]);
    await waitUntil(
      async () => JSON.stringify(await activeLog(n2)) === JSON.stringify(["watch2", "watch1"]),
      "node-2's edge-device-log.txt with watch1 again",
    );
    for (const edge of [w2, again]) edge.connection.close();
  },
], [
  "a node frozen past its lease is swept; resumed, it fences itself and serves the name no more",
  async (url) => {
    await using network = await twoNodes(url);
    const { n1, n2, w1: first, w2 } = network;
    Deno.kill(n1.pid, "SIGSTOP");
    let resumed = false;
    try {
      // Its lock is still held (its connections are open): its lease passing gives it away.
      const frozenAt = performance.now();
      await w2.push(
        (p) => p.event === "presence" && p.device === "watch1" && p.state === "offline",
        "the frozen node's device announced offline",
        10_000,
      );
      console.log(
        `node-1 frozen: watch1 offline on node-2 after ${
          Math.round(performance.now() - frozenAt)
        } ms`,
      );
      const second = await loginThrough(n2, "watch1");
      // A command through the frozen node waits in its socket...
      const pending = first.connection.request("whoelse", {});
      Deno.kill(n1.pid, "SIGCONT");
      resumed = true;
      // ...and is never answered: resumed, the node fences itself before serving anything.
      const logout = await first.logout(10_000);
      assert.equal(logout.reason, "unavailable");
      await assert.rejects(pending);
      await n1.waitForLog(/cluster: node node-1 fenced itself: its lease was not renewed/);
      // The second login is the one the network knows.
      assert.deepEqual((await second.connection.request("whoelse", {})).devices, ["watch2"]);
      assert.deepEqual((await w2.connection.request("whoelse", {})).devices, ["watch1"]);
      // The node comes back with a new term, and knows the name is taken.
      await n1.waitForLog(/cluster: node node-1 serves, epoch 2/);
      const refused = await connectTestEdge({ hostname: "127.0.0.1", port: n1.port });
      await assert.rejects(
        refused.connection.request("login", { name: "watch1", password: "pw1" }),
        AlreadyActiveError,
      );
      await waitUntil(
        async () => JSON.stringify(await activeLog(n1)) === JSON.stringify(["watch2", "watch1"]),
        "node-1's edge-device-log.txt after its new term",
      );
      for (const edge of [first, second, w2, refused]) edge.connection.close();
    } finally {
      if (!resumed) Deno.kill(n1.pid, "SIGCONT");
    }
  },
]];

testOnDatabases("nodes of a network that die or freeze", FAILURES);
