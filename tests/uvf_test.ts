import assert from "node:assert/strict";
import { join } from "node:path";
import { EdgeProcess, type JsonLine } from "./_helpers/edge_process.ts";
import { waitForBoundPort } from "./_helpers/bound_ports.ts";
import { type LossConfig, type LossyRelay, startLossyRelay } from "./_helpers/lossy_relay.ts";
import { ServerProcess } from "./_helpers/server_process.ts";
import { listDir, waitUntil } from "./_helpers/wait.ts";
import { randomFile, sha256 } from "./_helpers/files.ts";

const isFileEvent = (j: JsonLine) => j.event === "file";
const isUvf = (j: JsonLine) => j.cmd === "UVF";

/** watch2 behind a relay on its advertised UDP port, so every datagram to it passes the relay. */
async function receiverBehindRelay(
  server: ServerProcess,
  forward: LossConfig,
  args: string[] = [],
): Promise<{ relay: LossyRelay; edge: EdgeProcess } & AsyncDisposable> {
  // The edge binds UDP port 0 and advertises the relay's port; the relay learns the
  // edge's own port from /proc once it is bound, before any transfer starts.
  const relay = startLossyRelay({ forward });
  try {
    const edge = await EdgeProcess.start(server, {
      login: "watch2",
      args: ["--udp-advertise", String(relay.addr.port), ...args],
    });
    try {
      const port = await waitForBoundPort(edge.pid, "udp", { exited: edge.exited() });
      relay.setTarget({ hostname: "127.0.0.1", port });
    } catch (error) {
      await edge[Symbol.asyncDispose]();
      throw error;
    }
    return {
      relay,
      edge,
      async [Symbol.asyncDispose]() {
        await edge[Symbol.asyncDispose]();
        await relay[Symbol.asyncDispose]();
      },
    };
  } catch (error) {
    await relay[Symbol.asyncDispose]();
    throw error;
  }
}

/** Waits until a transfer into `dir` has begun (its part file exists). */
async function partFileIn(dir: string): Promise<void> {
  await waitUntil(
    async () => (await listDir(dir)).some((n) => n.endsWith(".part")),
    "the transfer to start",
    20_000,
    5,
  );
}

Deno.test("UVF sends small, empty and 64 MiB files byte-identical, and strips path parts from names", async () => {
  await using server = await ServerProcess.start();
  await using a = await EdgeProcess.start(server, { login: "watch1" });
  await using b = await EdgeProcess.start(server, { login: "watch2" });
  await Deno.writeTextFile(join(a.dir, "small.txt"), "hello, peer\n");
  await Deno.writeTextFile(join(a.dir, "empty.bin"), "");
  await randomFile(join(a.dir, "big.bin"), 64 * 1024 * 1024);
  await Deno.mkdir(join(a.dir, "sub"));
  await Deno.writeTextFile(join(a.dir, "sub", "nested.txt"), "nested");

  const cases: [string, string][] = [
    ["small.txt", "watch1_small.txt"],
    ["empty.bin", "watch1_empty.bin"],
    ["big.bin", "watch1_big.bin"],
    ["sub/nested.txt", "watch1_nested.txt"],
  ];
  for (const [name, stored] of cases) {
    const sent = await a.command(`UVF watch2 ${name}`, 60_000);
    assert.equal(sent.ok, true, JSON.stringify(sent));
    const got = await b.next(isFileEvent, 60_000);
    assert.equal(got.from, "watch1");
    assert.equal(got.path, join(b.dir, stored));
    const original = await sha256(join(a.dir, name));
    assert.equal(sent.sha256, original);
    assert.equal(await sha256(join(b.dir, stored)), original, name);
    assert.equal(got.bytes, (await Deno.stat(join(a.dir, name))).size);
  }
  assert.ok(server.stdout.lines.some((l) => l.includes('watch1 is sending "big.bin"')));
  assert.ok(!(await listDir(b.dir)).some((n) => n.endsWith(".part")));
});

for (const loss of [0.05, 0.25]) {
  Deno.test(`UVF through the lossy relay at ${loss * 100}% loss with duplication and reordering arrives intact`, async () => {
    await using server = await ServerProcess.start();
    await using behind = await receiverBehindRelay(server, {
      seed: 42,
      loss,
      duplicate: 0.05,
      reorder: 0.1,
      reorderMs: 5,
    });
    const { relay, edge: b } = behind;
    await using a = await EdgeProcess.start(server, { login: "watch1" });
    await randomFile(join(a.dir, "data.bin"), 2 * 1024 * 1024);
    const sent = await a.command("UVF watch2 data.bin", 120_000);
    assert.equal(sent.ok, true, JSON.stringify(sent));
    await b.next(isFileEvent, 60_000);
    assert.equal(
      await sha256(join(b.dir, "watch1_data.bin")),
      await sha256(join(a.dir, "data.bin")),
    );
    assert.ok((sent.retransmits as number) > 0, "the relay dropped datagrams, so some were resent");
    assert.ok(relay.counters.forward.dropped > 0);
  });
}

Deno.test("a stray datagram at a device's peer port is ignored and the device still receives", async () => {
  await using server = await ServerProcess.start();
  await using a = await EdgeProcess.start(server, { login: "watch1" });
  await using b = await EdgeProcess.start(server, { login: "watch2" });
  const port = ((await a.command("AED")).devices as { udpPort: number }[])[0]!.udpPort;
  const spoofer = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  for (let i = 0; i < 50; i++) {
    await spoofer.send(crypto.getRandomValues(new Uint8Array(200)), {
      transport: "udp",
      hostname: "127.0.0.1",
      port,
    });
  }
  spoofer.close();
  await Deno.writeTextFile(join(a.dir, "ok.txt"), "still fine");
  assert.equal((await a.command("UVF watch2 ok.txt")).ok, true);
  assert.equal((await b.next(isFileEvent)).from, "watch1");
  assert.deepEqual((await listDir(b.dir)).filter((n) => n !== "watch1_ok.txt"), []);
});

Deno.test("a sender killed mid-transfer leaves no file at the receiver", async () => {
  await using server = await ServerProcess.start();
  // A slow link (delay on every datagram) keeps the transfer running long enough to kill it.
  await using behind = await receiverBehindRelay(
    server,
    { seed: 7, loss: 0.02, delayMs: 20 },
    ["--stall-timeout", "2"],
  );
  const b = behind.edge;
  await using a = await EdgeProcess.start(server, { login: "watch1" });
  await randomFile(join(a.dir, "big.bin"), 32 * 1024 * 1024);
  await a.send("UVF watch2 big.bin");
  await partFileIn(b.dir);
  a.kill("SIGKILL");
  await a.exited();
  const failed = await b.next((j) => j.event === "file" && j.ok === false, 20_000);
  assert.equal(failed.from, "watch1");
  assert.deepEqual(await listDir(b.dir), []);
});

Deno.test("block ends a running UVF: the blocked sender's UVF fails as blocked and nothing is left behind", async () => {
  await using server = await ServerProcess.start();
  // A slow link keeps the transfer running until the block.
  await using behind = await receiverBehindRelay(server, { seed: 9, delayMs: 20 });
  const b = behind.edge;
  await using a = await EdgeProcess.start(server, { login: "watch1" });
  await randomFile(join(a.dir, "big.bin"), 32 * 1024 * 1024);
  await a.send("UVF watch2 big.bin");
  await partFileIn(b.dir);
  assert.equal((await b.command("block watch1")).ok, true);
  const sent = await a.next(isUvf, 20_000);
  assert.deepEqual([sent.ok, sent.error], [false, "blocked"], JSON.stringify(sent));
  assert.match(String(sent.message), /watch2 has blocked watch1/);
  const failed = await b.next((j) => j.event === "file" && j.ok === false, 20_000);
  assert.deepEqual([failed.from, failed.error], ["watch1", "blocked"]);
  await waitUntil(async () => (await listDir(b.dir)).length === 0, "the part file to go");
});
