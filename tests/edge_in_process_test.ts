/**
 * The edge program and the server, both in this process (tests/README.md): edge commands,
 * their results and error paths, messaging and private chat, as `--json` prints them. The
 * end-to-end tests through the binary are one per feature: iot_commands_test.ts,
 * messaging_test.ts, login_test.ts, edge_commands_test.ts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { JsonLine } from "./_helpers/edge_process.ts";
import { InProcessEdge, openPrivateChat } from "./_helpers/in_process_edge.ts";
import { TestServer } from "./_helpers/in_process_server.ts";
import { listDir } from "./_helpers/wait.ts";

const DEVICES = 50;

const isEvent = (event: string, extra: (j: JsonLine) => boolean = () => true) => (j: JsonLine) =>
  j.event === event && extra(j);

Deno.test("every IoT command's error path gives a specific error and a new prompt", async () => {
  await using server = await TestServer.start();
  await using edge = await InProcessEdge.start(server, { login: "watch1" });
  const cases: [string, string, RegExp][] = [
    ["EDG", "bad_args", /EDG needs a fileID and a dataAmount/],
    ["EDG 1", "bad_args", /EDG needs a fileID and a dataAmount/],
    ["EDG x 10", "bad_args", /fileID must be an integer/],
    ["EDG 1 ten", "bad_args", /dataAmount must be an integer/],
    ["EDG 1 0", "bad_args", /dataAmount must be 1\.\./],
    ["EDG 1 2.5", "bad_args", /dataAmount must be an integer/],
    ["UED", "bad_args", /UED needs a fileID/],
    ["UED 9", "not_found", /watch1-9\.txt does not exist/],
    ["SCS", "bad_args", /SCS needs a fileID and an operation/],
    ["SCS x SUM", "bad_args", /fileID must be an integer/],
    ["SCS 1 MEDIAN", "bad_args", /operation must be one of SUM, AVERAGE, MAX, MIN/],
    ["SCS 1 SUM", "not_found", /file 1 has not been uploaded by watch1/],
    ["DTE", "bad_args", /DTE needs a fileID/],
    ["DTE 4", "not_found", /file 4 has not been uploaded by watch1/],
    ["AED now", "bad_args", /AED takes no arguments/],
    ["FOO", "unknown_command", /unknown command "FOO"/],
  ];
  for (const [line, error, message] of cases) {
    const result = await edge.command(line);
    assert.equal(result.ok, false, line);
    assert.equal(result.error, error, line);
    assert.match(String(result.message), message, line);
  }
  // Nothing malformed reached the server: its log shows only the two server-side misses.
  // The log is written after the reply goes out: wait for the last one's line.
  await server.waitForLog(/delete refused \(not_found\)/);
  const refused = server.log.items.filter((l) => l.includes("refused"));
  assert.equal(refused.length, 2, refused.join("\n"));

  await Deno.writeTextFile(join(edge.dir, "watch1-5.txt"), "1\n2\nthree\n");
  const invalid = await edge.command("UED 5");
  assert.equal(invalid.error, "invalid_data");
  assert.match(String(invalid.message), /line 3 starts with 't', not an integer/);
  assert.deepEqual(await listDir(join(server.dataDir, "uploads")), []);
  await Deno.writeTextFile(join(edge.dir, "watch1-6.txt"), "");
  assert.match(String((await edge.command("UED 6")).message), /holds no samples/);
  const help = await edge.command("help");
  assert.equal(help.ok, true);
  assert.match(String(help.message), /EDG fileID dataAmount/);
  assert.equal((await edge.command("AED")).ok, true);
});

Deno.test("re-uploading a fileID replaces the file and its aggregates", async () => {
  await using server = await TestServer.start();
  await using edge = await InProcessEdge.start(server, { login: "watch1" });
  await Deno.writeTextFile(join(edge.dir, "watch1-2.txt"), "1\n2\n3\n");
  assert.equal((await edge.command("UED 2")).dataAmount, 3);
  await Deno.writeTextFile(join(edge.dir, "watch1-2.txt"), "10\r\n-20\r\n");
  assert.equal((await edge.command("UED 2")).dataAmount, 2);
  assert.equal((await edge.command("SCS 2 SUM")).result, "-10");
  assert.equal((await edge.command("SCS 2 AVERAGE")).result, "-5");
  assert.equal((await edge.command("SCS 2 MIN")).result, "-20");
  assert.equal(await server.read("uploads/watch1-2.txt"), "10\r\n-20\r\n");
  assert.equal((await server.read("upload-log.txt")).trim().split("\n").length, 2);
});

Deno.test("a device can only compute over or delete its own files", async () => {
  await using server = await TestServer.start();
  await using owner = await InProcessEdge.start(server, { login: "watch1" });
  await using other = await InProcessEdge.start(server, { login: "watch2" });
  await owner.command("EDG 3 5");
  assert.equal((await owner.command("UED 3")).ok, true);
  assert.equal((await other.command("SCS 3 SUM")).error, "not_found");
  assert.equal((await other.command("DTE 3")).error, "not_found");
  assert.equal((await owner.command("SCS 3 MAX")).ok, true);
});

Deno.test("message, broadcast, whoelse and whoelsesince, with their error paths", async () => {
  await using server = await TestServer.start();
  await using a = await InProcessEdge.start(server, { login: "watch1" });
  await using b = await InProcessEdge.start(server, { login: "watch2" });

  const sent = await a.command("message watch2 hello   there, b");
  assert.deepEqual([sent.ok, sent.delivery], [true, "online"]);
  const got = await b.next(isEvent("message"));
  assert.deepEqual([got.from, got.text, got.kind], ["watch1", "hello   there, b", "direct"]);

  const all = await a.command("BROADCAST all hands");
  assert.deepEqual([all.delivered, all.refused], [1, 0]);
  assert.equal((await b.next(isEvent("message"))).kind, "broadcast");

  assert.deepEqual((await a.command("whoelse")).devices, ["watch2"]);
  assert.deepEqual((await a.command("whoelsesince 60")).devices, ["watch2"]);

  const errors: [string, string, RegExp][] = [
    ["message watch2", "bad_args", /needs a device name and some text/],
    ["message nobody hi", "not_found", /there is no device called nobody/],
    ["message watch1 hi", "self", /this device itself/],
    ["message ../etc hi", "bad_args", /device name may hold only/],
    ["broadcast", "bad_args", /broadcast needs some text/],
    ["whoelsesince", "bad_args", /needs a number of seconds/],
    ["whoelsesince -5", "bad_args", /seconds must be 0\.\./],
    ["whoelse now", "bad_args", /takes no arguments/],
    [`message watch2 ${"x".repeat(5000)}`, "too_large", /limit is 4096/],
  ];
  for (const [line, error, message] of errors) {
    const result = await a.command(line);
    assert.equal(result.ok, false, line.slice(0, 40));
    assert.equal(result.error, error, line.slice(0, 40));
    assert.match(String(result.message), message, line.slice(0, 40));
  }
});

Deno.test("a blocked device gets the same answers whether its blocker is online or not", async () => {
  await using server = await TestServer.start();
  {
    await using b = await InProcessEdge.start(server, { login: "watch2" });
    assert.equal((await b.command("block watch1")).ok, true);
    await b.finish();
  }
  await using a = await InProcessEdge.start(server, { login: "watch1" });
  await Deno.writeTextFile(join(a.dir, "f.txt"), "data");
  const answers = async () => {
    const out: unknown[] = [];
    for (const line of ["UVF watch2 f.txt", "startprivate watch2", "message watch2 hi"]) {
      const r = await a.command(line);
      out.push([line, r.ok, r.error, r.message]);
    }
    const all = await a.command("broadcast hi all");
    out.push(["broadcast", all.refused, all.message]);
    return out;
  };
  const whileOffline = await answers();
  assert.deepEqual(whileOffline[0], [
    "UVF watch2 f.txt",
    false,
    "blocked",
    "watch2 has blocked you; the file cannot be sent",
  ]);
  await using _blocker = await InProcessEdge.start(server, { login: "watch2" });
  assert.deepEqual(await answers(), whileOffline);
});

Deno.test("private chat: declined, accepted, both ways over the peer channel, then stopped", async () => {
  await using server = await TestServer.start();
  await using a = await InProcessEdge.start(server, { login: "watch1" });
  await using b = await InProcessEdge.start(server, { login: "watch2" });

  assert.equal((await a.command("private watch2 too early")).ok, false);
  assert.equal((await a.command("startprivate watch3")).error, "offline");
  assert.equal((await a.command("startprivate watch1")).error, "self");

  assert.equal((await a.command("startprivate watch2")).ok, true);
  assert.equal((await b.next(isEvent("private"))).state, "requested");
  const no = await b.command("n");
  assert.deepEqual([no.cmd, no.ok, no.accept], ["ANSWER", true, false]);
  assert.equal((await a.next(isEvent("private"))).state, "declined");
  assert.equal((await a.command("private watch2 still no")).ok, false);

  await a.command("startprivate watch2");
  await b.next(isEvent("private"));
  assert.equal((await b.command("y")).accept, true);
  assert.equal((await a.next(isEvent("private"))).state, "accepted");
  assert.equal((await a.command("private watch2 psst, over the peer channel")).ok, true);
  const toB = await b.next(isEvent("message"));
  assert.deepEqual([toB.from, toB.text, toB.kind], [
    "watch1",
    "psst, over the peer channel",
    "private",
  ]);
  assert.equal((await b.command("private watch1 got it")).ok, true);
  assert.equal((await a.next(isEvent("message"))).text, "got it");
  // The server never carried the text.
  assert.ok(!server.log.items.some((l) => l.includes("psst") || l.includes("got it")));

  assert.equal((await a.command("stopprivate watch2")).ok, true);
  const ended = await b.next(isEvent("private"));
  assert.deepEqual([ended.state, ended.device], ["ended", "watch1"]);
  assert.equal((await b.command("private watch1 anyone?")).ok, false);
  assert.equal((await a.command("stopprivate watch2")).error, "not_found");

  // A chat also ends, with notice, when one side leaves.
  await openPrivateChat(a, b, "watch2");
  await b.command("OUT");
  const left = await a.next(isEvent("private"));
  assert.deepEqual([left.state, left.device], ["ended", "watch2"]);
  assert.match(String(left.message), /watch2 left/);
  assert.equal((await a.command("private watch2 hello?")).ok, false);
});

Deno.test("an edge logged out for idleness says why and exits 1, in virtual time", async () => {
  await using server = await TestServer.start({ idleTimeoutSeconds: 30 });
  await using edge = await InProcessEdge.start(server, { login: "watch1" });
  server.advance(29_999);
  assert.deepEqual((await edge.command("whoelse")).devices, []);
  server.advance(30_000);
  const logout = await edge.next(isEvent("logout"));
  assert.deepEqual([logout.reason, logout.message], [
    "idle",
    "Logged out by the server: logged out after 30 s without a command",
  ]);
  assert.equal(await edge.exited(), 1);
  assert.equal(edge.json.filter(isEvent("logout")).length, 1, "no second connection_lost line");
});

Deno.test("a wrong password is asked again; the lockout that follows ends the edge with blocked", async () => {
  await using server = await TestServer.start({ attempts: 2, blockSeconds: 5 });
  await using edge = await InProcessEdge.start(server);
  edge.send("watch1", "nope");
  assert.equal((await edge.next(isEvent("login"))).error, "bad_credentials");
  edge.send("nope again");
  const blocked = await edge.next(isEvent("login"));
  assert.deepEqual([blocked.ok, blocked.error], [false, "blocked"]);
  assert.equal(await edge.exited(), 1);
  server.advance(5_000);
  await using again = await InProcessEdge.start(server, { login: "watch1" });
  assert.equal((await again.command("OUT")).ok, true);
  assert.equal(await again.exited(), 0);
});

Deno.test("presence: three devices see each other come and go", async () => {
  await using server = await TestServer.start();
  await using a = await InProcessEdge.start(server, { login: "watch1" });
  await using b = await InProcessEdge.start(server, { login: "watch2" });
  assert.equal((await a.next(isEvent("presence"))).device, "watch2");
  await using c = await InProcessEdge.start(server, { login: "watch3" });
  for (const edge of [a, b]) {
    const seen = await edge.next(isEvent("presence"));
    assert.deepEqual([seen.device, seen.state], ["watch3", "online"]);
  }
  await c.command("OUT");
  for (const edge of [a, b]) {
    const seen = await edge.next(isEvent("presence"));
    assert.deepEqual([seen.device, seen.state], ["watch3", "offline"]);
  }
  // whoelsesince still covers the device that left.
  assert.deepEqual((await a.command("whoelsesince 60")).devices, ["watch2", "watch3"]);
  assert.deepEqual((await a.command("whoelse")).devices, ["watch2"]);
});

Deno.test(`${DEVICES} devices logged in at once each run EDG, UED and SCS correctly`, async () => {
  await using server = await TestServer.start();
  const edges = await Promise.all(
    Array.from({ length: DEVICES }, (_, i) => InProcessEdge.start(server, { login: `dev${i}` })),
  );
  try {
    await Promise.all(edges.map(async (edge, i) => {
      assert.equal((await edge.command(`EDG ${i} 2000`, 60_000)).ok, true);
      assert.equal((await edge.command(`UED ${i}`, 60_000)).dataAmount, 2000);
      const text = await Deno.readTextFile(join(edge.dir, `dev${i}-${i}.txt`));
      const sum = text.trim().split("\n").reduce((a, l) => a + BigInt(l), 0n);
      assert.equal((await edge.command(`SCS ${i} SUM`, 60_000)).result, String(sum));
      const aed = await edge.command("AED", 60_000);
      assert.ok((aed.devices as unknown[]).length >= 1);
    }));
    const lines = (await server.read("upload-log.txt")).trim().split("\n");
    assert.equal(lines.length, DEVICES);
    assert.equal(new Set(lines.map((l) => l.split("; ")[0])).size, DEVICES);
  } finally {
    await Promise.all(edges.map((e) => e[Symbol.asyncDispose]()));
  }
});

Deno.test("an unknown name gets exactly the reply of a wrong password", async () => {
  await using server = await TestServer.start();
  await using edge = await InProcessEdge.start(server);
  await edge.send("nobody", "x");
  const unknown = await edge.next((j) => j.event === "login");
  await using other = await InProcessEdge.start(server);
  await other.send("watch2", "x");
  const wrong = await other.next((j) => j.event === "login");
  assert.deepEqual(unknown, wrong);
  assert.equal(unknown.error, "bad_credentials");
});

Deno.test("a device already logged in cannot log in twice", async () => {
  await using server = await TestServer.start();
  await using first = await InProcessEdge.start(server, { login: "watch1" });
  await using second = await InProcessEdge.start(server);
  await second.send("watch1", "pw1");
  const refused = await second.next((j) => j.event === "login");
  assert.equal(refused.error, "already_active");
  assert.equal(await second.finish(), 1);
  assert.equal((await first.command("AED")).ok, true);
});
