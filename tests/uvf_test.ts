import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { EdgeProcess, type JsonLine } from "./_helpers/edge_process.ts";
import { waitForBoundPort } from "./_helpers/bound_ports.ts";
import { type LossConfig, type LossyRelay, startLossyRelay } from "./_helpers/lossy_relay.ts";
import { ServerProcess } from "./_helpers/server_process.ts";
import { listDir, waitUntil } from "./_helpers/wait.ts";

const isFileEvent = (j: JsonLine) => j.event === "file";
const isUvf = (j: JsonLine) => j.cmd === "UVF";

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

async function randomFile(path: string, bytes: number): Promise<void> {
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const block = new Uint8Array(65536);
  for (let done = 0; done < bytes; done += block.length) {
    crypto.getRandomValues(block);
    await file.write(block.subarray(0, Math.min(block.length, bytes - done)));
  }
}

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

Deno.test("UVF refuses an offline target, itself, a missing file and an unknown device", async () => {
  await using server = await ServerProcess.start();
  await using a = await EdgeProcess.start(server, { login: "watch1" });
  await Deno.writeTextFile(join(a.dir, "f.txt"), "x");
  const cases: [string, string, RegExp][] = [
    ["UVF watch2 f.txt", "offline", /watch2 is not online/],
    ["UVF watch1 f.txt", "self", /itself/],
    ["UVF watch2 missing.txt", "not_found", /missing\.txt does not exist/],
    ["UVF nobody f.txt", "not_found", /no device called nobody/],
    ["UVF watch2", "bad_args", /UVF needs a device name and a file name/],
  ];
  for (const [line, error, message] of cases) {
    const r = await a.command(line);
    assert.deepEqual([r.ok, r.error], [false, error], line);
    assert.match(String(r.message), message, line);
  }
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

Deno.test("two devices send to one receiver at once, while it sends too", async () => {
  await using server = await ServerProcess.start();
  await using a = await EdgeProcess.start(server, { login: "watch1" });
  await using b = await EdgeProcess.start(server, { login: "watch2" });
  await using c = await EdgeProcess.start(server, { login: "watch3" });
  await randomFile(join(a.dir, "a.bin"), 4 * 1024 * 1024);
  await randomFile(join(b.dir, "b.bin"), 4 * 1024 * 1024);
  await randomFile(join(c.dir, "c.bin"), 4 * 1024 * 1024);
  await Promise.all([
    a.send("UVF watch3 a.bin"),
    b.send("UVF watch3 b.bin"),
    c.send("UVF watch1 c.bin"),
  ]);
  for (const edge of [a, b, c]) assert.equal((await edge.next(isUvf, 60_000)).ok, true);
  await c.stdout.waitFor(() => c.json.filter(isFileEvent).length === 2, 60_000);
  const arrived = c.json.filter(isFileEvent);
  assert.deepEqual(arrived.map((e) => e.from).sort(), ["watch1", "watch2"]);
  assert.equal(await sha256(join(c.dir, "watch1_a.bin")), await sha256(join(a.dir, "a.bin")));
  assert.equal(await sha256(join(c.dir, "watch2_b.bin")), await sha256(join(b.dir, "b.bin")));
  // watch1's file event may come before or after its own UVF result.
  await a.stdout.waitFor((l) => isFileEvent(JSON.parse(l)), 60_000);
  assert.equal(await sha256(join(a.dir, "watch3_c.bin")), await sha256(join(c.dir, "c.bin")));
});

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

Deno.test("UVF never replaces a file at the receiver: cam's 1-5.txt to cam_1 leaves cam_1's data file alone", async () => {
  await using server = await ServerProcess.start({ args: ["--allow-registration"] });
  const login = async (name: string) => {
    const edge = await EdgeProcess.start(server);
    await edge.send(name, "pw-" + name);
    assert.equal((await edge.next((j) => j.event === "login")).ok, true);
    return edge;
  };
  await using cam1 = await login("cam_1");
  await using cam = await login("cam");
  assert.equal((await cam1.command("EDG 5 3")).ok, true);
  const data = await Deno.readTextFile(join(cam1.dir, "cam_1-5.txt"));
  await Deno.writeTextFile(join(cam.dir, "1-5.txt"), "999999\n");
  for (const stored of ["cam_1-5 (1).txt", "cam_1-5 (2).txt"]) {
    assert.equal((await cam.command("UVF cam_1 1-5.txt")).ok, true);
    const got = await cam1.next(isFileEvent);
    assert.equal(got.path, join(cam1.dir, stored));
    assert.equal(got.message, `Received ${join(cam1.dir, stored)} (7 B) from cam`);
    assert.equal(await Deno.readTextFile(join(cam1.dir, stored)), "999999\n");
  }
  assert.equal(await Deno.readTextFile(join(cam1.dir, "cam_1-5.txt")), data);
  const sum = await cam1.command("UED 5");
  assert.equal(sum.ok, true);
  assert.equal(sum.dataAmount, 3);
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
