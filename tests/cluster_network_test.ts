/**
 * Servers on one PostgreSQL database act as one network (SPEC §9): one registry of active
 * devices, presence, messages and broadcasts between nodes, resync after a lost LISTEN
 * connection, and logins refused with `unavailable` while the database is out of reach.
 * The nodes run in this process (`_helpers/network_node.ts`); `cluster_failure_test.ts`
 * kills and freezes node processes.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import { AlreadyActiveError, UnavailableError } from "../protocol/errors.ts";
import type { Push } from "../protocol/messages.ts";
import type { EdgeConnection } from "../client/connection.ts";
import type { JsonLine } from "./_helpers/edge_process.ts";
import { randomFile, sha256 } from "./_helpers/files.ts";
import { InProcessEdge, openPrivateChat } from "./_helpers/in_process_edge.ts";
import { logIn, type TestEdge } from "./_helpers/in_process_server.ts";
import { NetworkNode, startNodes } from "./_helpers/network_node.ts";
import { ACCOUNTS } from "./_helpers/server_process.ts";
import {
  type DatabaseCase,
  postgresInstalled,
  startPostgres,
  testOnDatabases,
} from "./_helpers/postgres_cluster.ts";
import { waitUntil } from "./_helpers/wait.ts";

const ignore = !postgresInstalled();

/** The behaviours that share one throwaway PostgreSQL, each on a database of its own. */
const NETWORK_CASES: DatabaseCase[] = [];

/** Nodes `node-a` and `node-b` on `url`, `watch1` logged in through a, `watch2` through b. */
async function twoNodes(url: string) {
  const network = await startNodes(url, 2);
  const [a, b] = network.nodes as [NetworkNode, NetworkNode];
  return { a, b, w1: await a.login("watch1"), w2: await b.login("watch2"), ...network };
}

/** Adds a behaviour to the test "a network of servers on one PostgreSQL database". */
function networkCase(name: string, fn: (url: string) => Promise<void>): void {
  NETWORK_CASES.push([name, fn]);
}

networkCase(
  "of 20 simultaneous logins of one name through 3 nodes exactly one wins",
  async (url) => {
    await using network = await startNodes(url, 3);
    const nodes = network.nodes;
    const edges = await Promise.all(
      Array.from({ length: 20 }, (_, i) => nodes[i % 3]!.connect()),
    );
    const outcomes = await Promise.allSettled(
      edges.map((edge) => edge.connection.request("login", { name: "watch1", password: "pw1" })),
    );
    const won = outcomes.filter((o) => o.status === "fulfilled");
    assert.equal(won.length, 1, "exactly one login wins");
    for (const o of outcomes) {
      if (o.status === "rejected") {
        assert.ok(o.reason instanceof AlreadyActiveError, String(o.reason));
      }
    }
    // The winner registers; then the name is refused on every node, its own included.
    const winner = edges[outcomes.findIndex((o) => o.status === "fulfilled")]!;
    await winner.connection.request("udp_port", { port: 9 });
    for (const node of nodes) {
      const late = await node.connect();
      await assert.rejects(
        late.connection.request("login", { name: "watch1", password: "pw1" }),
        AlreadyActiveError,
      );
    }
    // Logged out, the name is free at once anywhere.
    await winner.connection.request("logout", {});
    await nodes[2]!.login("watch1");
  },
);

networkCase(
  "AED, whoelse, whoelsesince and every node's edge-device-log.txt show the whole network in login order",
  async (url) => {
    await using network = await twoNodes(url);
    const { a, b, w1, w2 } = network;
    const w3 = await a.login("watch3");
    const d1 = await b.login("dev1");
    // A node learns of another node's login from its presence notice (NOTIFY, after the
    // commit): each node has heard of the other's last login once its device is told.
    const online = (device: string) => (p: Push) =>
      p.event === "presence" && p.device === device && p.state === "online";
    await Promise.all([w1.push(online("dev1")), w2.push(online("watch3"))]);
    const names = (devices: { name: string }[]) => devices.map((d) => d.name);
    const aed = await w1.connection.request("devices", {});
    assert.deepEqual(names(aed.devices), ["watch2", "watch3", "dev1"]);
    const seen = aed.devices.find((d) => d.name === "watch2")!;
    assert.equal(seen.udpPort, 9);
    assert.equal(seen.ip, "127.0.0.1");
    assert.deepEqual(
      names((await d1.connection.request("devices", {})).devices),
      ["watch1", "watch2", "watch3"],
    );
    assert.deepEqual((await w2.connection.request("whoelse", {})).devices, [
      "watch1",
      "watch3",
      "dev1",
    ]);
    for (const node of [a, b]) {
      await waitUntil(
        async () =>
          JSON.stringify(await node.activeLog()) ===
            JSON.stringify(["watch1", "watch2", "watch3", "dev1"]),
        `${node.nodeId}'s edge-device-log.txt listing the network`,
      );
    }
    // watch3 leaves through node a: node b's devices no longer see it, and its log line goes.
    await w3.connection.request("logout", {});
    await w2.push((p) => p.event === "presence" && p.device === "watch3" && p.state === "offline");
    assert.deepEqual((await w2.connection.request("whoelse", {})).devices, ["watch1", "dev1"]);
    assert.deepEqual((await w2.connection.request("whoelsesince", { seconds: 60 })).devices, [
      "dev1",
      "watch1",
      "watch3",
    ]);
    await waitUntil(
      async () =>
        JSON.stringify(await b.activeLog()) === JSON.stringify(["watch1", "watch2", "dev1"]),
      "node b's log without watch3",
    );
    assert.match(
      await b.read("edge-device-log.txt"),
      /^1; .*; watch1; 127\.0\.0\.1; 9\n2; .*; watch2;/,
    );
  },
);

/** The texts of the `message` pushes an edge received, as `from: text (kind)`. */
function texts(pushes: Push[]): string[] {
  return pushes.flatMap((p) => p.event === "message" ? [`${p.from}: ${p.text} (${p.kind})`] : []);
}

networkCase(
  "messages, presence and broadcasts cross nodes, and blocks hold across them",
  async (url) => {
    await using network = await startNodes(url, 3);
    const [a, b, c] = network.nodes as [NetworkNode, NetworkNode, NetworkNode];
    const w1 = await a.login("watch1");
    const w2 = await b.login("watch2");
    // Presence: watch1 (node a) hears of watch2 (node b), and of watch3 (node c).
    await w1.push((p) => p.event === "presence" && p.device === "watch2" && p.state === "online");
    const w3 = await c.login("watch3");
    await w1.push((p) => p.event === "presence" && p.device === "watch3" && p.state === "online");
    await w2.push((p) => p.event === "presence" && p.device === "watch3" && p.state === "online");

    // A direct message to a device on another node is delivered at once, in order.
    for (let i = 1; i <= 5; i++) {
      assert.deepEqual(await w1.connection.request("message", { to: "watch2", text: `m${i}` }), {
        delivery: "online",
      });
    }
    await w2.push((p) => p.event === "message" && p.text === "m5");
    assert.deepEqual(texts(w2.pushes.items), [1, 2, 3, 4, 5].map((i) => `watch1: m${i} (direct)`));

    // watch3 blocks watch1: the block, stored through node c, holds on nodes a and b.
    await w3.connection.request("block", { device: "watch1" });
    await assert.rejects(
      w1.connection.request("message", { to: "watch3", text: "hidden" }),
      /has blocked you/,
    );
    assert.deepEqual((await w1.connection.request("whoelse", {})).devices, ["watch2"]);
    assert.deepEqual(
      await w1.connection.request("broadcast", { text: "hello all" }),
      { delivered: 1, refused: 1 },
    );
    await w2.push((p) => p.event === "message" && p.text === "hello all");
    // A broadcast from watch2 (node b) reaches nodes a and c.
    await w2.connection.request("broadcast", { text: "from b" });
    await w1.push((p) => p.event === "message" && p.text === "from b" && p.kind === "broadcast");
    await w3.push((p) => p.event === "message" && p.text === "from b" && p.kind === "broadcast");

    // The broadcast skipped watch3 on node c, which blocks watch1.
    assert.ok(!texts(w3.pushes.items).some((t) => t.includes("hello all")));

    // Presence: watch1 blocks watch2, so watch2 (node b) is not told watch1 leaves, while
    // dev2 on the same node is, by the same announcement.
    const d2 = await b.login("dev2");
    await w1.push((p) => p.event === "presence" && p.device === "dev2" && p.state === "online");
    await w1.connection.request("block", { device: "watch2" });
    await w1.connection.request("logout", {});
    await d2.push((p) => p.event === "presence" && p.device === "watch1" && p.state === "offline");
    await w3.push((p) => p.event === "presence" && p.device === "watch1" && p.state === "offline");
    assert.ok(!w2.pushes.items.some((p) => p.event === "presence" && p.device === "watch1"));
  },
);

networkCase(
  "a message racing its recipient's login on another node arrives exactly once (in a loop)",
  async (url) => {
    await using network = await startNodes(url, 2);
    const [a, b] = network.nodes as [NetworkNode, NetworkNode];
    const sender = await a.login("watch1");
    const ROUNDS = 30;
    let direct = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const text = `race ${round}`;
      const recipient = await b.connect();
      // Whatever arrives as a stored message is acknowledged, as the edge does.
      const acked: Promise<unknown>[] = [];
      recipient.connection.onPush = (push) => {
        recipient.pushes.add(push);
        if (push.event === "message" && push.kind === "offline") {
          acked.push(recipient.connection.request("ack", { message: push.id }));
        }
      };
      // Which starts first, and by how much, changes from round to round: a head start of
      // 0 to 80 ms for the login in even rounds, for the message in odd ones.
      const headStart = [0, 3, 10, 25, 50, 80][Math.floor(round / 2) % 6]!;
      const after = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const [sent] = await Promise.all([
        (async () => {
          if (round % 2 === 0) await after(headStart);
          return await sender.connection.request("message", { to: "watch2", text });
        })(),
        (async () => {
          if (round % 2 === 1) await after(headStart);
          await logInAs(recipient, "watch2");
        })(),
      ]);
      if (sent.delivery === "online") direct++;
      await recipient.push((p) => p.event === "message" && p.text === text, `round ${round}`);
      // A message sent after it, and received, closes the round: nothing came twice.
      await sender.connection.request("message", { to: "watch2", text: `end ${round}` });
      await recipient.push((p) => p.event === "message" && p.text === `end ${round}`);
      await Promise.all(acked);
      assert.equal(
        texts(recipient.pushes.items).filter((t) => t.includes(`: ${text} (`)).length,
        1,
        `round ${round}: ${texts(recipient.pushes.items).join(" | ")}`,
      );
      await recipient.connection.request("logout", {});
    }
    // Nothing is left waiting: every stored copy was delivered and acknowledged.
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ n: string }[]>`SELECT count(*) AS n FROM messages`;
      assert.equal(Number(row!.n), 0);
    } finally {
      await sql.end();
    }
    console.log(`${ROUNDS} rounds: ${direct} delivered online, ${ROUNDS - direct} stored`);
  },
);

/** Logs `edge` in as `name` (password from `ACCOUNTS`) and registers a UDP port. */
async function logInAs(edge: { connection: EdgeConnection }, name: string): Promise<void> {
  await edge.connection.request("login", { name, password: ACCOUNTS[name]! });
  await edge.connection.request("udp_port", { port: 9 });
}

networkCase(
  "a node whose LISTEN connection is ended reads the registry and its inbox again: nothing is lost",
  async (url) => {
    await using network = await twoNodes(url);
    const { a, b, w1, w2 } = network;
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const ended = await sql<{ ended: boolean }[]>`
      SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
      WHERE application_name = 'iotnet node-b listen' AND datname = current_database()`;
      assert.deepEqual(ended.map((r) => r.ended), [true]);
      await b.waitForLog(/cluster: the LISTEN connection closed/);
      // While node b is not listening: messages for its device, a login on node a.
      for (let i = 1; i <= 3; i++) {
        assert.deepEqual(
          await w1.connection.request("message", { to: "watch2", text: `gap ${i}` }),
          { delivery: "online" },
        );
      }
      const d1 = await a.login("dev1");
      const [inbox] = await sql<{ n: string }[]>`SELECT count(*) AS n FROM inbox`;
      console.log(`${inbox!.n} of 3 messages still in node b's inbox when it was checked`);
      // Node b listens again, takes its rows in order, and learns of dev1 from the table.
      await w2.push((p) => p.event === "message" && p.text === "gap 3", "the third message");
      assert.deepEqual(texts(w2.pushes.items), [1, 2, 3].map((i) => `watch1: gap ${i} (direct)`));
      await w2.push((p) => p.event === "presence" && p.device === "dev1" && p.state === "online");
      assert.deepEqual((await w2.connection.request("whoelse", {})).devices, ["watch1", "dev1"]);
      // And what changes from now on is heard at once again.
      await d1.connection.request("logout", {});
      await w2.push((p) => p.event === "presence" && p.device === "dev1" && p.state === "offline");
    } finally {
      await sql.end();
    }
  },
);

Deno.test({
  name:
    "while PostgreSQL is stopped a node ends its sessions and refuses logins with unavailable; then logins work again",
  ignore,
  async fn() {
    await using pg = await startPostgres("cluster network");
    if (!pg!.ownsServer) {
      console.log("skipped: the shared PostgreSQL of this run cannot be stopped");
      return;
    }
    const url = await pg!.database();
    await using a = await NetworkNode.start(url, "node-a");
    const w1 = await a.login("watch1");
    await pg!.stop();
    // Its lock's connection closed: the node fenced itself and ended its sessions.
    const logout = await w1.logout(10_000);
    assert.equal(logout.reason, "unavailable");
    const refused = await a.connect();
    const started = performance.now();
    await assert.rejects(
      refused.connection.request("login", { name: "watch2", password: "pw2" }),
      (error: unknown) => error instanceof UnavailableError && /cannot reach/.test(error.message),
    );
    // Refused at once, not after a connection timeout.
    assert.ok(performance.now() - started < 2_000);
    await pg!.start();
    let loggedIn: TestEdge | undefined;
    await waitUntil(
      async () => {
        const edge = await a.connect();
        try {
          loggedIn = await logIn(edge, "watch1");
          return true;
        } catch (error) {
          if (!(error instanceof UnavailableError)) throw error;
          edge.connection.close();
          return false;
        }
      },
      "a login once PostgreSQL is back",
      20_000,
      200,
    );
    await a.waitForLog(/cluster: node node-a serves, epoch 2/);
    assert.deepEqual((await loggedIn!.connection.request("whoelse", {})).devices, []);
  },
});

networkCase(
  "startprivate, private, stopprivate and UVF between edges on different nodes",
  async (url) => {
    await using network = await startNodes(url, 2);
    const [nodeA, nodeB] = network.nodes as [NetworkNode, NetworkNode];
    await using a = await InProcessEdge.start(nodeA, { login: "watch1" });
    await using b = await InProcessEdge.start(nodeB, { login: "watch2" });
    const isEvent = (event: string) => (j: JsonLine) => j.event === event;

    // The request goes through node a, the answer through node b: the chat is the network's.
    assert.equal((await a.command("startprivate watch2")).ok, true);
    assert.equal((await b.next(isEvent("private"))).state, "requested");
    assert.equal((await b.command("y")).accept, true);
    assert.equal((await a.next(isEvent("private"))).state, "accepted");
    assert.equal((await a.command("private watch2 psst, across nodes")).ok, true);
    const toB = await b.next(isEvent("message"));
    assert.deepEqual([toB.from, toB.text, toB.kind], ["watch1", "psst, across nodes", "private"]);
    assert.equal((await b.command("private watch1 got it")).ok, true);
    assert.equal((await a.next(isEvent("message"))).text, "got it");
    // Either side ends it, through its own node.
    assert.equal((await b.command("stopprivate watch1")).ok, true);
    const ended = await a.next(isEvent("private"));
    assert.deepEqual([ended.state, ended.device], ["ended", "watch2"]);
    assert.equal((await a.command("stopprivate watch2")).error, "not_found");

    // UVF: node a hands watch1 a ticket sealed for watch2's session on node b.
    await randomFile(join(a.dir, "f.bin"), 256 * 1024);
    assert.equal((await a.command("UVF watch2 f.bin", 30_000)).ok, true);
    const file = await b.next(isEvent("file"), 30_000);
    assert.equal(file.from, "watch1");
    assert.equal(await sha256(join(b.dir, "watch1_f.bin")), await sha256(join(a.dir, "f.bin")));

    // A chat ends with notice when one side leaves, whichever node it leaves through.
    await openPrivateChat(a, b, "watch2");
    await b.command("OUT");
    const left = await a.next(isEvent("private"));
    assert.deepEqual([left.state, left.device], ["ended", "watch2"]);
  },
);

testOnDatabases("a network of servers on one PostgreSQL database", NETWORK_CASES);
