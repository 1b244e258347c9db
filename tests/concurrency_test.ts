import assert from "node:assert/strict";
import { join } from "node:path";
import { EdgeProcess } from "./_helpers/edge_process.ts";
import { ServerProcess } from "./_helpers/server_process.ts";

const DEVICES = 50;

Deno.test(`${DEVICES} devices logged in at once each run EDG, UED and SCS correctly`, async () => {
  await using server = await ServerProcess.start();
  const edges = await Promise.all(
    Array.from({ length: DEVICES }, (_, i) => EdgeProcess.start(server, { login: `dev${i}` })),
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

Deno.test("an idle device is logged out after --idle-timeout and told why", async () => {
  await using server = await ServerProcess.start({ args: ["--idle-timeout", "1"] });
  await using edge = await EdgeProcess.start(server, { login: "watch1" });
  const logout = await edge.next((j) => j.event === "logout", 10_000);
  assert.equal(logout.reason, "idle");
  assert.match(String(logout.message), /after 1 s without a command/);
  assert.equal((await edge.exited()).code, 1);
  await server.waitForLog(/watch1 left \(logged out after 1 s without a command\)/);
});
