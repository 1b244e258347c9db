/**
 * SPEC §1 "Staying connected" and "Keepalive", end to end through the binary: a server
 * restart with a peer transfer in flight, a frozen edge freed by the keepalive, a port
 * where nothing answers the handshake.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EdgeProcess, type JsonLine } from "./_helpers/edge_process.ts";
import { randomFile, sha256 } from "./_helpers/files.ts";
import { iotnetCommand } from "./_helpers/iotnet_command.ts";
import { ServerProcess } from "./_helpers/server_process.ts";
import { waitUntil } from "./_helpers/wait.ts";

const connection = (state: string) => (j: JsonLine) =>
  j.event === "connection" && j.state === state;

Deno.test("a server restart: edges reconnect and log in again, a peer transfer in flight arrives whole, commands meanwhile fail as disconnected", async () => {
  const first = await ServerProcess.start();
  const { dataDir, port } = first;
  await using a = await EdgeProcess.start(first, { login: "watch1" });
  await using b = await EdgeProcess.start(first, { login: "watch2" });
  const size = 256 * 1024 * 1024;
  await randomFile(join(a.dir, "big.bin"), size);

  const from = first.stdout.lines.length;
  await a.send("UVF watch2 big.bin");
  // The server has introduced the two, and bytes arrive: from here the transfer needs no server.
  await first.waitForLog(/watch1 is sending "big\.bin"/, 15_000, from);
  await waitUntil(async () => {
    for await (const entry of Deno.readDir(b.dir)) {
      if ((await Deno.stat(join(b.dir, entry.name))).size > 0) return true;
    }
    return false;
  }, "the first bytes at the receiver");
  await first.stop("SIGKILL");
  const lostA = await a.next(connection("lost"));
  assert.match(String(lostA.message), /reconnecting/);
  const lostB = await b.next(connection("lost"));
  assert.equal(lostB.state, "lost");

  const during = await a.command("AED");
  assert.deepEqual([during.cmd, during.ok, during.error], ["AED", false, "disconnected"]);

  await using server = await ServerProcess.start({ dataDir, port });
  await a.next(connection("restored"), 40_000);
  await b.next(connection("restored"), 40_000);
  const aed = await a.command("AED");
  assert.deepEqual((aed.devices as { name: string }[]).map((d) => d.name), ["watch2"]);
  assert.ok(server.stdout.lines.some((l) => /watch1 joined/.test(l)));

  // The transfer may end before or after the edges are back: look from the start.
  const uvfAt = await a.stdout.waitFor((l) => JSON.parse(l).cmd === "UVF", 120_000, 0);
  const sent = JSON.parse(a.stdout.lines[uvfAt]!);
  assert.equal(sent.ok, true, JSON.stringify(sent));
  assert.equal(sent.seq, 1, "the late result says which command it answers");
  assert.equal(sent.command, "UVF watch2 big.bin");
  const fileAt = await b.stdout.waitFor((l) => JSON.parse(l).event === "file", 120_000, 0);
  assert.equal(JSON.parse(b.stdout.lines[fileAt]!).bytes, size);
  // It was in flight through the outage: it arrived after the connection was lost.
  const lostAt = b.stdout.lines.findIndex((l) => connection("lost")(JSON.parse(l)));
  assert.ok(lostAt >= 0 && fileAt > lostAt, `file at line ${fileAt}, loss at ${lostAt}`);
  assert.equal(await sha256(join(b.dir, "watch1_big.bin")), await sha256(join(a.dir, "big.bin")));
  await a.send("OUT");
  // The AED given while disconnected failed, so a script learns that something did.
  assert.equal((await a.exited()).code, 1);
});

Deno.test("a frozen edge (SIGSTOP) is logged out within 3 × keepalive; the others see it go", async () => {
  await using server = await ServerProcess.start({ args: ["--keepalive", "1"] });
  await using a = await EdgeProcess.start(server, { login: "watch1" });
  await using b = await EdgeProcess.start(server, { login: "watch2" });
  const from = server.stdout.lines.length;
  const frozenAt = Date.now();
  Deno.kill(a.pid, "SIGSTOP");
  try {
    const offline = await b.next((j) => j.event === "presence" && j.state === "offline", 10_000);
    assert.equal(offline.device, "watch1");
    const elapsed = Date.now() - frozenAt;
    // Three intervals of 1 s, plus the time to notice (scheduling on a loaded machine).
    assert.ok(elapsed < 3_000 + 1_500, `freed after ${elapsed} ms`);
    assert.ok(elapsed >= 2_000, `not before silence of 3 intervals: ${elapsed} ms`);
    await server.waitForLog(/watch1 left \(nothing heard from the device for 3 s/, 5_000, from);
    const whoelse = await b.command("whoelse");
    assert.deepEqual(whoelse.devices, []);
  } finally {
    Deno.kill(a.pid, "SIGCONT");
  }
  // Thawed, the edge finds its connection closed and logs in again by itself.
  await a.next(connection("restored"), 20_000);
});

Deno.test("an idle edge with a short keepalive stays logged in: keepalives are traffic, not commands", async () => {
  await using server = await ServerProcess.start({
    args: ["--keepalive", "1", "--idle-timeout", "60"],
  });
  await using a = await EdgeProcess.start(server, { login: "watch1" });
  await using b = await EdgeProcess.start(server, { login: "watch2" });
  const from = server.stdout.lines.length;
  // Five intervals of silence at the prompt.
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  assert.ok(!server.stdout.lines.slice(from).some((l) => /left/.test(l)), "nobody left");
  const who = await b.command("whoelse");
  assert.deepEqual(who.devices, ["watch1"]);
  await a.send("OUT");
  assert.equal((await a.exited()).code, 0);
});

Deno.test("a port where nothing answers the handshake: the edge names the address and exits 1 at --connect-timeout", async () => {
  // Accepts and says nothing: the hello never gets an answer.
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })();
  const dir = await Deno.makeTempDir({ prefix: "iotnet-edge-" });
  const started = Date.now();
  const child = iotnetCommand([
    "edge",
    "127.0.0.1",
    String(listener.addr.port),
    "0",
    "--dir",
    dir,
    "--connect-timeout",
    "1",
  ], { stdin: "piped" }).spawn();
  await child.stdin.close();
  const output = await child.output();
  const elapsed = Date.now() - started;
  const text = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 1);
  assert.match(text, new RegExp(`127\\.0\\.0\\.1:${listener.addr.port}`));
  assert.match(text, /completed the iotnet handshake within 1 s/);
  assert.doesNotMatch(text, /Device name/);
  assert.ok(elapsed < 10_000, `gave up after ${elapsed} ms`);
  listener.close();
  await accepting.catch(() => {});
  for (const conn of held) conn.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--dir is created when missing; --password-file logs in without asking", async () => {
  await using server = await ServerProcess.start();
  const root = await Deno.makeTempDir({ prefix: "iotnet-edge-" });
  const dir = join(root, "not", "yet");
  const passwordFile = join(root, "pw");
  await Deno.writeTextFile(passwordFile, "pw1\n");
  await using a = await EdgeProcess.start(server, {
    dir,
    args: ["--password-file", passwordFile],
  });
  await a.send("watch1");
  const login = await a.next((j) => j.event === "login");
  assert.equal(login.ok, true, JSON.stringify(login));
  const edg = await a.command("EDG 1 3");
  assert.equal(edg.ok, true);
  assert.ok((await Deno.stat(join(dir, "watch1-1.txt"))).isFile);
  await a.send("OUT");
  assert.equal((await a.exited()).code, 0);
  await Deno.remove(root, { recursive: true });
});

Deno.test("block with no device lists the devices blocked, in JSON as devices", async () => {
  await using server = await ServerProcess.start();
  await using a = await EdgeProcess.start(server, { login: "watch1" });
  const none = await a.command("block");
  assert.deepEqual(none, { cmd: "BLOCK", ok: true, message: "You block no devices", devices: [] });
  assert.equal((await a.command("block watch3")).ok, true);
  assert.equal((await a.command("block watch2")).ok, true);
  const two = await a.command("BLOCK");
  assert.deepEqual(two, {
    cmd: "BLOCK",
    ok: true,
    message: "You block: watch2, watch3",
    devices: ["watch2", "watch3"],
  });
});
