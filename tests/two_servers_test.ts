/**
 * Two servers in one process share nothing (issue 11): each `startServer` makes its own
 * disk turns, shared fsyncs, file locks, log writers, buffer pools, hasher and store, so
 * two servers on different data directories serve uploads, logins and messages at the
 * same time, each seeing only its own devices, files and mailbox.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { EdgeConnection } from "../client/connection.ts";
import type { Push } from "../protocol/messages.ts";
import { type IotServer, startServer } from "../server/mod.ts";
import { memorySource } from "./_helpers/files.ts";
import { listDir, within } from "./_helpers/wait.ts";

/** A server started in this process on a fresh data directory, with its log kept. */
async function inProcessServer(accounts: Record<string, string>) {
  const dataDir = await Deno.makeTempDir({ prefix: "iotnet-two-" });
  await Deno.writeTextFile(
    join(dataDir, "credentials.txt"),
    Object.entries(accounts).map(([name, password]) => `${name} ${password}\n`).join(""),
  );
  const logged: string[] = [];
  const server = await startServer({ attempts: 3, dataDir, log: (line) => logged.push(line) });
  return { server, dataDir, logged };
}

/** A logged-in device, with the pushes it receives. */
async function device(server: IotServer, name: string, password: string) {
  const pushes: Push[] = [];
  const connection = await EdgeConnection.connect({
    hostname: server.hostname,
    port: server.port,
    onPush: (push) => pushes.push(push),
  });
  await connection.request("login", { name, password });
  await connection.request("udp_port", { port: 9 });
  return { connection, pushes, name };
}

/** A data file of `count` samples all equal to `value`: larger than one write batch. */
function dataFile(value: number, count: number): Uint8Array {
  return new TextEncoder().encode(`${value}\n`.repeat(count));
}

async function upload(edge: { connection: EdgeConnection }, fileID: number, bytes: Uint8Array) {
  return await edge.connection.upload(fileID, memorySource(bytes), bytes.length);
}

Deno.test("two servers in one process serve at once, each seeing only its own devices, files and mailbox", async () => {
  // The same device name on both, with different passwords, and one name of each alone.
  const a = await inProcessServer({ watch1: "pwA1", watch2: "pwA2", onlyA: "pwA" });
  const b = await inProcessServer({ watch1: "pwB1", watch3: "pwB3", onlyB: "pwB" });
  try {
    // Logins on both at once; watch1 is logged in on both, as two different devices.
    const [a1, aOnly, b1, bOnly] = await within(
      Promise.all([
        device(a.server, "watch1", "pwA1"),
        device(a.server, "onlyA", "pwA"),
        device(b.server, "watch1", "pwB1"),
        device(b.server, "onlyB", "pwB"),
      ]),
      "four logins on two servers",
      20_000,
    );
    // Each server's password for watch1 is its own.
    const wrong = await EdgeConnection.connect({
      hostname: a.server.hostname,
      port: a.server.port,
    });
    await assert.rejects(wrong.request("login", { name: "watch1", password: "pwB1" }));
    wrong.close();

    // Uploads of the same name and file ID on both at once, each over several write batches
    // and read buffers (700 KB), while messages and broadcasts go round on both.
    const fileA = dataFile(7, 100_000);
    const fileB = dataFile(-3, 120_000);
    const [upA, upB, , , messageA, messageB] = await within(
      Promise.all([
        upload(a1, 1, fileA),
        upload(b1, 1, fileB),
        aOnly.connection.request("broadcast", { text: "hello from A" }),
        bOnly.connection.request("broadcast", { text: "hello from B" }),
        // watch2 has an account on A only, and is offline: stored in A's mailbox.
        a1.connection.request("message", { to: "watch2", text: "for watch2 on A" }),
        // watch3 has an account on B only, and is offline: stored in B's mailbox.
        b1.connection.request("message", { to: "watch3", text: "for watch3 on B" }),
      ]),
      "uploads, broadcasts and messages on two servers",
      20_000,
    );
    assert.deepEqual(upA, { fileID: 1, dataAmount: 100_000 });
    assert.deepEqual(upB, { fileID: 1, dataAmount: 120_000 });
    assert.deepEqual(messageA, { delivery: "stored" });
    assert.deepEqual(messageB, { delivery: "stored" });
    // A name with an account on the other server only is unknown here.
    await assert.rejects(a1.connection.request("message", { to: "watch3", text: "x" }), /watch3/);

    // Each server computes over its own copy.
    assert.deepEqual(await a1.connection.request("compute", { fileID: 1, operation: "SUM" }), {
      op: "SUM",
      result: "700000",
    });
    assert.deepEqual(await b1.connection.request("compute", { fileID: 1, operation: "SUM" }), {
      op: "SUM",
      result: "-360000",
    });
    // Each lists its own devices only.
    const listed = async (edge: { connection: EdgeConnection }) =>
      (await edge.connection.request("devices", {})).devices.map((d) => d.name);
    assert.deepEqual(await listed(a1), ["onlyA"]);
    assert.deepEqual(await listed(b1), ["onlyB"]);
    assert.deepEqual((await aOnly.connection.request("whoelse", {})).devices, ["watch1"]);
    assert.deepEqual((await bOnly.connection.request("whoelse", {})).devices, ["watch1"]);
    // Each broadcast reached its own server's other device only.
    const texts = (pushes: Push[]) =>
      pushes.flatMap((p) => p.event === "message" ? [`${p.from}: ${p.text}`] : []);
    assert.deepEqual(texts(a1.pushes), ["onlyA: hello from A"]);
    assert.deepEqual(texts(b1.pushes), ["onlyB: hello from B"]);

    // The stored message waits in its own server's mailbox.
    const watch2 = await device(a.server, "watch2", "pwA2");
    await within(
      (async () => {
        while (texts(watch2.pushes).length === 0) await new Promise((r) => setTimeout(r, 5));
      })(),
      "watch2's stored message",
      5_000,
    );
    assert.deepEqual(texts(watch2.pushes), ["watch1: for watch2 on A"]);

    // Each data directory holds its own file and log lines only.
    for (const side of [a, b]) {
      assert.deepEqual(await listDir(join(side.dataDir, "uploads")), ["watch1-1.txt"]);
      const stored = await Deno.readFile(join(side.dataDir, "uploads", "watch1-1.txt"));
      assert.deepEqual(stored, side === a ? fileA : fileB, `${side.dataDir} holds its own file`);
      const lines = (await Deno.readTextFile(join(side.dataDir, "upload-log.txt"))).trim()
        .split("\n");
      assert.equal(lines.length, 1);
      assert.match(lines[0]!, side === a ? /; 1; 100000$/ : /; 1; 120000$/);
      assert.ok(side.logged.some((l) => l.startsWith("watch1 uploaded file 1")));
    }
    const activeA = await Deno.readTextFile(join(a.dataDir, "edge-device-log.txt"));
    const activeB = await Deno.readTextFile(join(b.dataDir, "edge-device-log.txt"));
    assert.doesNotMatch(activeA, /onlyB|watch3/);
    assert.doesNotMatch(activeB, /onlyA|watch2/);
    assert.ok(!a.logged.some((l) => /^(onlyB|watch3) joined/.test(l)), a.logged.join("\n"));
    assert.ok(!b.logged.some((l) => /^(onlyA|watch2) joined/.test(l)), b.logged.join("\n"));

    for (const edge of [a1, aOnly, b1, bOnly, watch2]) edge.connection.close();
  } finally {
    await Promise.all([a.server.close(), b.server.close()]);
    await Promise.all([a.dataDir, b.dataDir].map((d) => Deno.remove(d, { recursive: true })));
  }
});

Deno.test("one server closing leaves the other serving", async () => {
  const a = await inProcessServer({ watch1: "pw1" });
  const b = await inProcessServer({ watch1: "pw1" });
  try {
    const edgeB = await device(b.server, "watch1", "pw1");
    await a.server.close();
    assert.deepEqual(await upload(edgeB, 2, dataFile(1, 10)), { fileID: 2, dataAmount: 10 });
    assert.deepEqual(
      await edgeB.connection.request("compute", { fileID: 2, operation: "SUM" }),
      { op: "SUM", result: "10" },
    );
    edgeB.connection.close();
  } finally {
    await Promise.all([a.server.close(), b.server.close()]);
    await Promise.all([a.dataDir, b.dataDir].map((d) => Deno.remove(d, { recursive: true })));
  }
});
