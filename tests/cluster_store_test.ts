/**
 * Servers given one PostgreSQL database (`clusterUrl`, SPEC §9) share their store: file
 * records and exact aggregates, offline messages, blocks, lockouts and login history; each
 * keeps the files uploaded through it in its own data directory. What a cluster URL that
 * cannot be used does at start-up. The registry of active devices and routing between
 * nodes: `cluster_network_test.ts`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { EdgeConnection } from "../client/connection.ts";
import type { Push } from "../protocol/messages.ts";
import { type IotServer, startServer, StartupError } from "../server/mod.ts";
import { memorySource } from "./_helpers/files.ts";
import { postgresInstalled, startPostgres } from "./_helpers/postgres_cluster.ts";
import { listDir, waitUntil, within } from "./_helpers/wait.ts";

const ACCOUNTS = "watch1 pw1\nwatch2 pw2\nwatch3 pw3\n";

/** A node of the network on a fresh data directory, with its log kept. */
async function node(clusterUrl: string, nodeId: string) {
  const dataDir = await Deno.makeTempDir({ prefix: `iotnet-${nodeId}-` });
  await Deno.writeTextFile(join(dataDir, "credentials.txt"), ACCOUNTS);
  const logged: string[] = [];
  const server = await startServer({
    attempts: 2,
    dataDir,
    clusterUrl,
    nodeId,
    log: (line) => logged.push(line),
  });
  return {
    server,
    dataDir,
    logged,
    async [Symbol.asyncDispose]() {
      await server.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

async function connect(server: IotServer, onPush?: (push: Push) => void) {
  return await EdgeConnection.connect({
    hostname: server.hostname,
    port: server.port,
    ...(onPush && { onPush }),
  });
}

/** A logged-in device, with the pushes it receives. */
async function device(server: IotServer, name: string, password: string) {
  const pushes: Push[] = [];
  const connection = await connect(server, (push) => pushes.push(push));
  await connection.request("login", { name, password });
  await connection.request("udp_port", { port: 9 });
  return { connection, pushes };
}

function upload(connection: EdgeConnection, fileID: number, bytes: Uint8Array) {
  return connection.upload(fileID, memorySource(bytes), bytes.length);
}

Deno.test({
  name:
    "servers on one PostgreSQL database share file records with exact sums, offline messages, blocks and lockouts",
  ignore: !postgresInstalled(),
  async fn(t) {
    await using pg = await startPostgres("cluster store");
    const url = await pg!.database();
    await using a = await node(url, "node-a");
    await using b = await node(url, "node-b");
    assert.ok(a.logged.some((l) => /^cluster: node node-a on PostgreSQL 127\.0\.0\.1:/.test(l)));

    await t.step("a file uploaded through one node is computed on through the other", async () => {
      // 15-digit samples: their sum is past 2^63 and any float's exact range.
      const big = 999_999_999_999_999;
      const bytes = new TextEncoder().encode(`${big}\n`.repeat(10_000));
      const onA = await device(a.server, "watch1", "pw1");
      assert.deepEqual(await upload(onA.connection, 3, bytes), { fileID: 3, dataAmount: 10_000 });
      onA.connection.close();
      await waitUntil(() => a.logged.some((l) => /^watch1 (left|logged out)/.test(l)), "logout");
      const onB = await device(b.server, "watch1", "pw1");
      assert.deepEqual(
        await onB.connection.request("compute", { fileID: 3, operation: "SUM" }),
        { op: "SUM", result: (BigInt(big) * 10_000n).toString() },
      );
      onB.connection.close();
      // The file itself stays in the data directory of the node it went through.
      assert.deepEqual(await listDir(join(a.dataDir, "uploads")), ["watch1-3.txt"]);
      assert.deepEqual(await listDir(join(b.dataDir, "uploads")).catch(() => []), []);
      await waitUntil(() => b.logged.some((l) => /^watch1 (left|logged out)/.test(l)), "logout");
    });

    await t.step(
      "a message stored through one node is delivered at login on the other",
      async () => {
        const sender = await device(a.server, "watch2", "pw2");
        assert.deepEqual(
          await sender.connection.request("message", { to: "watch3", text: "across" }),
          { delivery: "stored" },
        );
        const recipient = await device(b.server, "watch3", "pw3");
        await waitUntil(
          () => recipient.pushes.some((p) => p.event === "message" && p.text === "across"),
          "the stored message on the other node",
        );
        sender.connection.close();
        recipient.connection.close();
      },
    );

    await t.step("a block made on one node holds on the other", async () => {
      const blocker = await device(a.server, "watch1", "pw1");
      await blocker.connection.request("block", { device: "watch2" });
      blocker.connection.close();
      await waitUntil(() => a.logged.some((l) => /^watch1 (left|logged out)/.test(l)), "logout");
      const again = await device(b.server, "watch1", "pw1");
      const blocked = await device(a.server, "watch2", "pw2");
      await assert.rejects(
        blocked.connection.request("message", { to: "watch1", text: "hi" }),
        /block/,
      );
      again.connection.close();
      blocked.connection.close();
    });

    await t.step("a name blocked on one node is blocked on the other", async () => {
      // attempts 2: two failures on node A block the name on both.
      const conn = await connect(a.server);
      for (let i = 0; i < 2; i++) {
        await assert.rejects(conn.request("login", { name: "watch3", password: "wrong" }));
      }
      conn.close();
      const other = await connect(b.server);
      await assert.rejects(other.request("login", { name: "watch3", password: "pw3" }), /block/);
      other.close();
    });
  },
});

Deno.test("a cluster URL that cannot be used stops start-up with one line, never the password", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "iotnet-cluster-" });
  try {
    for (
      const [clusterUrl, pattern] of [
        ["mysql://u:secret@127.0.0.1/x", /not a PostgreSQL URL/],
        // Port 1 on 127.0.0.1: nothing listens there.
        ["postgres://u:secret@127.0.0.1:1/iotnet", /PostgreSQL database 127\.0\.0\.1:1\/iotnet/],
      ] as const
    ) {
      const error = await within(
        startServer({ attempts: 3, dataDir, clusterUrl, nodeId: "n1", log: () => {} }).then(
          () => assert.fail("started"),
          (e: unknown) => e,
        ),
        "start-up to fail",
        20_000,
      );
      assert.ok(error instanceof StartupError, String(error));
      assert.match(error.message, pattern);
      assert.doesNotMatch(error.message, /secret|\n/);
    }
    await assert.rejects(
      startServer({ attempts: 3, dataDir, nodeId: "n1", log: () => {} }),
      /without a cluster URL/,
    );
    await assert.rejects(
      startServer({ attempts: 3, dataDir, clusterUrl: "postgres://x/y", nodeId: "a b" }),
      RangeError,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
