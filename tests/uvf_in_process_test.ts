/**
 * UVF between edges run in this process (tests/README.md): its refusals, transfers at once
 * in both directions, names that never replace a file. The end-to-end tests through the
 * binary (byte-identical files, a lossy relay, a killed sender, block) are in uvf_test.ts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { JsonLine } from "./_helpers/edge_process.ts";
import { randomFile, sha256 } from "./_helpers/files.ts";
import { InProcessEdge } from "./_helpers/in_process_edge.ts";
import { TestServer } from "./_helpers/in_process_server.ts";
import { waitUntil } from "./_helpers/wait.ts";

const isFileEvent = (j: JsonLine) => j.event === "file";
const isUvf = (j: JsonLine) => j.cmd === "UVF";

Deno.test("UVF refuses an offline target, itself, a missing file and an unknown device", async () => {
  await using server = await TestServer.start();
  await using a = await InProcessEdge.start(server, { login: "watch1" });
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

Deno.test("two devices send to one receiver at once, while it sends too", async () => {
  await using server = await TestServer.start();
  await using a = await InProcessEdge.start(server, { login: "watch1" });
  await using b = await InProcessEdge.start(server, { login: "watch2" });
  await using c = await InProcessEdge.start(server, { login: "watch3" });
  await randomFile(join(a.dir, "a.bin"), 4 * 1024 * 1024);
  await randomFile(join(b.dir, "b.bin"), 4 * 1024 * 1024);
  await randomFile(join(c.dir, "c.bin"), 4 * 1024 * 1024);
  await Promise.all([
    a.send("UVF watch3 a.bin"),
    b.send("UVF watch3 b.bin"),
    c.send("UVF watch1 c.bin"),
  ]);
  for (const edge of [a, b, c]) assert.equal((await edge.next(isUvf, 60_000)).ok, true);
  await waitUntil(() => c.json.filter(isFileEvent).length === 2, "two files at watch3", 60_000);
  const arrived = c.json.filter(isFileEvent);
  assert.deepEqual(arrived.map((e) => e.from).sort(), ["watch1", "watch2"]);
  assert.equal(await sha256(join(c.dir, "watch1_a.bin")), await sha256(join(a.dir, "a.bin")));
  assert.equal(await sha256(join(c.dir, "watch2_b.bin")), await sha256(join(b.dir, "b.bin")));
  // watch1's file event may come before or after its own UVF result.
  await a.output.first(isFileEvent, "watch3's file at watch1", 60_000);
  assert.equal(await sha256(join(a.dir, "watch3_c.bin")), await sha256(join(c.dir, "c.bin")));
});

Deno.test("UVF never replaces a file at the receiver: cam's 1-5.txt to cam_1 leaves cam_1's data file alone", async () => {
  await using server = await TestServer.start({ allowRegistration: true });
  const login = async (name: string) => {
    const edge = await InProcessEdge.start(server);
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
