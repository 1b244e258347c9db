/**
 * Data files across the nodes of a network (SPEC §3, §9): records are shared and name the
 * node holding the file. SCS and DTE work through any node; a DTE through one node removes
 * the record for everyone at once and the file from the node holding it, at once or when
 * that node is back (a durable job, `server/cluster/node_jobs.ts`); each node's
 * `deletion-log.txt` records the DTEs that went through it. A node killed mid-upload costs
 * nothing: the file is uploaded again through another node, and the killed node, back,
 * leaves the others' records alone.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { EdgeConnection } from "../client/connection.ts";
import { AlreadyActiveError, NotFoundError } from "../protocol/errors.ts";
import { PostgresDatabase } from "../server/store/postgres/database.ts";
import { postgresStore } from "../server/store/postgres/store.ts";
import { ClusterNode } from "./_helpers/cluster_node.ts";
import { memorySource } from "./_helpers/files.ts";
import { postgresInstalled, startPostgres } from "./_helpers/postgres_cluster.ts";
import { ServerProcess } from "./_helpers/server_process.ts";
import postgres from "postgres";
import { listDir, waitUntil } from "./_helpers/wait.ts";

const SAMPLES = "5\n-2\n10\n";
const BYTES = new TextEncoder().encode(SAMPLES);

function upload(connection: EdgeConnection, fileID: number, bytes = BYTES) {
  return connection.upload(fileID, memorySource(bytes), bytes.length);
}

function sum(connection: EdgeConnection, fileID: number) {
  return connection.request("compute", { fileID, operation: "SUM" });
}

/** The data files in a node's `uploads/` (none before its first upload). */
async function uploads(dataDir: string): Promise<string[]> {
  return await listDir(join(dataDir, "uploads")).catch(() => []);
}

/** The lines of a log in a node's data directory (none when it does not exist). */
async function logLines(dataDir: string, name: string): Promise<string[]> {
  const text = await Deno.readTextFile(join(dataDir, name)).catch(() => "");
  return text.split("\n").filter(Boolean);
}

/** Jobs still queued in the network's database. */
async function queuedJobs(url: string): Promise<number> {
  const db = await PostgresDatabase.open(url);
  try {
    const [row] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM node_jobs`;
    return row!.n;
  } finally {
    await db.close();
  }
}

Deno.test({
  name: "a file uploaded through node B is computed on and deleted through node A",
  ignore: !postgresInstalled(),
  async fn(t) {
    await using pg = await startPostgres("DTE across nodes");
    const url = await pg!.database();
    await using a = await ClusterNode.start(url, "node-a");
    await using b = await ClusterNode.start(url, "node-b");

    await t.step("DTE through A: the record goes for everyone at once, B's file soon", async () => {
      const onB = await b.device("watch1", "pw1");
      assert.deepEqual(await upload(onB, 5), { fileID: 5, dataAmount: 3 });
      await b.logout(onB, "watch1");
      assert.deepEqual(await uploads(b.dataDir), ["watch1-5.txt"]);

      const onA = await a.device("watch1", "pw1");
      assert.deepEqual(await sum(onA, 5), { op: "SUM", result: "13" });
      assert.deepEqual(await onA.request("delete", { fileID: 5 }), { fileID: 5, dataAmount: 3 });
      await assert.rejects(sum(onA, 5), NotFoundError);
      await assert.rejects(onA.request("delete", { fileID: 5 }), NotFoundError);
      await a.logout(onA, "watch1");
      const again = await b.device("watch1", "pw1");
      await assert.rejects(sum(again, 5), NotFoundError, "gone on B too, at once");
      await b.logout(again, "watch1");

      await b.waitForLog("removed watch1's file 5 from uploads/: deleted through node node-a");
      assert.deepEqual(await uploads(b.dataDir), []);
      // Each node's logs record what went through it.
      assert.match(
        (await logLines(a.dataDir, "deletion-log.txt")).join("\n"),
        /^watch1; .*; 5; 3$/,
      );
      assert.deepEqual(await logLines(b.dataDir, "deletion-log.txt"), []);
      assert.equal((await logLines(b.dataDir, "upload-log.txt")).length, 1);
      assert.deepEqual(await logLines(a.dataDir, "upload-log.txt"), []);
      await waitUntil(async () => await queuedJobs(url) === 0, "the job to be done");
    });

    await t.step("the file uploaded again through A: B removes its old copy", async () => {
      const onB = await b.device("watch2", "pw2");
      await upload(onB, 1);
      await b.logout(onB, "watch2");
      const onA = await a.device("watch2", "pw2");
      const twice = new TextEncoder().encode(SAMPLES + SAMPLES);
      assert.deepEqual(await upload(onA, 1, twice), { fileID: 1, dataAmount: 6 });
      assert.deepEqual(await sum(onA, 1), { op: "SUM", result: "26" });
      await a.logout(onA, "watch2");
      await b.waitForLog("removed watch2's file 1 from uploads/: replaced through node node-a");
      assert.deepEqual(await uploads(b.dataDir), []);
      assert.deepEqual(await uploads(a.dataDir), ["watch2-1.txt"]);
    });
  },
});

Deno.test({
  name: "with node B stopped a DTE through A succeeds, and B removes the file when it is back",
  ignore: !postgresInstalled(),
  async fn() {
    await using pg = await startPostgres("DTE of a stopped node's file");
    const url = await pg!.database();
    await using a = await ClusterNode.start(url, "node-a");
    await using b = await ClusterNode.start(url, "node-b");
    const onB = await b.device("watch1", "pw1");
    await upload(onB, 5);
    await b.logout(onB, "watch1");
    // A file held by A, which B's return must leave alone.
    const keep = await a.device("watch2", "pw2");
    await upload(keep, 8);
    await a.logout(keep, "watch2");
    await b.stop();

    const onA = await a.device("watch1", "pw1");
    assert.deepEqual(await onA.request("delete", { fileID: 5 }), { fileID: 5, dataAmount: 3 });
    await assert.rejects(sum(onA, 5), NotFoundError);
    await a.logout(onA, "watch1");
    assert.deepEqual(await uploads(b.dataDir), ["watch1-5.txt"], "B is down");
    assert.equal(await queuedJobs(url), 1);

    await b.restart();
    await waitUntil(async () => (await uploads(b.dataDir)).length === 0, "B to remove it");
    await waitUntil(async () => await queuedJobs(url) === 0, "B to take its job");
    const onB2 = await b.device("watch2", "pw2");
    assert.deepEqual(await sum(onB2, 8), { op: "SUM", result: "13" }, "A's file is kept");
    await b.logout(onB2, "watch2");
    assert.deepEqual(await uploads(a.dataDir), ["watch2-8.txt"]);
  },
});

Deno.test({
  name:
    "a node killed mid-upload: the file is uploaded again through another, and the killed node, back, keeps that record",
  ignore: !postgresInstalled(),
  async fn() {
    await using pg = await startPostgres("node killed mid-upload");
    const url = await pg!.database();
    await using a = await ClusterNode.start(url, "node-a");
    const args = ["--cluster", url, "--node-id", "node-b"];
    await using b = await ServerProcess.start({ args });
    const big = new TextEncoder().encode("123456789\n".repeat(200_000)); // 2 MB
    const release = Promise.withResolvers<void>();
    const onB = await deviceOn(b.port, "watch1", "pw1");
    // Half the file, then the source stalls: B holds a part-written upload.
    const half = big.length / 2;
    const source = memorySource(big);
    let read = 0;
    const stalled = onB.upload(4, {
      async read(buffer: Uint8Array) {
        if (read >= half) await release.promise;
        const n = await source.read(buffer.subarray(0, Math.min(buffer.length, half)));
        read += n ?? 0;
        return n;
      },
    }, big.length).catch((error: unknown) => error);
    await waitUntil(
      async () => (await uploads(b.dataDir)).some((n) => n.endsWith(".part")),
      "B to be mid-upload",
    );
    await b.stop("SIGKILL");
    release.resolve();
    assert.ok(await stalled instanceof Error, "the upload through B failed");
    onB.close();

    const onA = await deviceOnceFree(a, "watch1", "pw1");
    assert.deepEqual(await upload(onA, 4, big), { fileID: 4, dataAmount: 200_000 });
    assert.deepEqual(await sum(onA, 4), { op: "SUM", result: String(123456789 * 200_000) });
    await a.logout(onA, "watch1");

    // B back on its data directory: it clears its part-written file and nothing else.
    await using b2 = await ServerProcess.start({ args, dataDir: b.dataDir });
    assert.deepEqual(await uploads(b.dataDir), []);
    const onB2 = await deviceOn(b2.port, "watch1", "pw1");
    assert.deepEqual(await sum(onB2, 4), { op: "SUM", result: String(123456789 * 200_000) });
    onB2.close();
    assert.deepEqual(await uploads(a.dataDir), ["watch1-4.txt"]);
  },
});

/**
 * A device logged in on `node` once the network has freed its name from a node that died
 * (SPEC §9: within 10 s; until a sweep sees the node gone the name is still claimed there).
 */
async function deviceOnceFree(
  node: ClusterNode,
  name: string,
  password: string,
): Promise<EdgeConnection> {
  let device: EdgeConnection | undefined;
  await waitUntil(
    async () => {
      try {
        device = await node.device(name, password);
        return true;
      } catch (error) {
        if (error instanceof AlreadyActiveError) return false;
        throw error;
      }
    },
    `${name} to be free to log in on node ${node.nodeId}`,
    10_000,
    100,
  );
  return device!;
}

/** A logged-in device on the server process on `port`. */
async function deviceOn(port: number, name: string, password: string): Promise<EdgeConnection> {
  const connection = await EdgeConnection.connect({ hostname: "127.0.0.1", port });
  await connection.request("login", { name, password });
  await connection.request("udp_port", { port: 9 });
  return connection;
}

Deno.test({
  name:
    "a node that crashed between renaming an upload into place and recording it leaves alone the newer upload through another node",
  ignore: !postgresInstalled(),
  async fn() {
    await using pg = await startPostgres("late upload finish");
    const url = await pg!.database();
    await using a = await ClusterNode.start(url, "node-a");
    await using b = await ClusterNode.start(url, "node-b");
    await b.stop();
    // What B's crash left: the file renamed into place and its journal row, no record.
    const path = join(b.dataDir, "uploads", "watch1-6.txt");
    await Deno.writeTextFile(path, SAMPLES);
    const db = await PostgresDatabase.open(url);
    const crashed = postgresStore(db, "node-b");
    await crashed.files.beginUpload({
      device: "watch1",
      fileID: 6,
      count: 3,
      sum: 13n,
      min: -2,
      max: 10,
      bytes: BYTES.length,
      uploadedAt: Date.now(),
      ino: (await Deno.stat(path)).ino,
      logOffset: 0,
    });
    await crashed.close();

    // The device, cut off from B, uploads the file again through A.
    const onA = await a.device("watch1", "pw1");
    const twice = new TextEncoder().encode(SAMPLES + SAMPLES);
    assert.deepEqual(await upload(onA, 6, twice), { fileID: 6, dataAmount: 6 });
    await a.logout(onA, "watch1");

    await b.restart();
    assert.ok(
      b.logged.some((l) =>
        l.startsWith("recovery: dropped the upload of watch1's file 6") &&
        l.includes("uploaded again through another node since")
      ),
      b.logged.join("\n"),
    );
    assert.deepEqual(await uploads(b.dataDir), []);
    const onB = await b.device("watch1", "pw1");
    assert.deepEqual(await sum(onB, 6), { op: "SUM", result: "26" }, "A's upload stands");
    await b.logout(onB, "watch1");
    assert.equal(await queuedJobs(url), 0, "A was given no job");
    assert.deepEqual(await uploads(a.dataDir), ["watch1-6.txt"]);
  },
});

Deno.test({
  name:
    "a node whose jobs listener ended while the database refused connections listens again, and takes a DTE's job at once",
  ignore: !postgresInstalled(),
  async fn() {
    // The jobs channel has a listener of its own (notification_listener.ts): it says when
    // it cannot listen, listens again once it can, and takes the jobs then, not at the
    // minute's poll.
    await using pg = await startPostgres("jobs listener ended");
    const url = await pg!.database();
    await using a = await ClusterNode.start(url, "node-a");
    await using b = await ClusterNode.start(url, "node-b");
    const onB = await b.device("watch1", "pw1");
    await upload(onB, 5);
    await b.logout(onB, "watch1");
    // From another database: PostgreSQL refuses to disallow connections to one's own.
    const admin = new URL(url);
    const name = admin.pathname.slice(1);
    admin.pathname = "/postgres";
    const sql = postgres(admin.href, { max: 1, onnotice: () => {} });
    const database = sql(name);
    try {
      await sql`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`;
      const ended = await sql<{ ended: boolean }[]>`
        SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
        WHERE datname = ${name} AND application_name LIKE 'iotnet node-b%'
          AND query ILIKE 'listen "iotnet_node_jobs"'`;
      assert.deepEqual(ended.map((r) => r.ended), [true]);
      await waitUntil(
        () => b.logged.some((line) => line.startsWith("cluster: jobs: cannot listen")),
        "node b to try to listen again, and fail",
      );
      await sql`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`;
      const onA = await a.device("watch1", "pw1");
      assert.deepEqual(await onA.request("delete", { fileID: 5 }), { fileID: 5, dataAmount: 3 });
      // Within seconds (the wait's 10 s), not at the minute's poll.
      await b.waitForLog("removed watch1's file 5 from uploads/: deleted through node node-a");
      assert.deepEqual(await uploads(b.dataDir), []);
    } finally {
      await sql`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`;
      await sql.end();
    }
  },
});
