import assert from "node:assert/strict";
import { join } from "node:path";
import { EdgeProcess } from "./_helpers/edge_process.ts";
import { iotnetCommand } from "./_helpers/iotnet_command.ts";
import { LineCollector } from "./_helpers/line_collector.ts";
import { ServerProcess } from "./_helpers/server_process.ts";

Deno.test("every server log line starts with its ISO time and every command is logged, no text or secret", async () => {
  await using server = await ServerProcess.start();
  await using other = await EdgeProcess.start(server, { login: "watch2" });
  await using edge = await EdgeProcess.start(server, { login: "watch1" });
  for (const line of ["whoelse", "whoelsesince 60", "message watch2 the-text-itself", "AED"]) {
    assert.equal((await edge.command(line)).ok, true, line);
  }
  await other.next((j) => j.event === "message");
  await server.waitForLog(/watch1 listed active devices/);
  // `server.log` checks that each line starts with an ISO 8601 time.
  const log = server.log;
  assert.ok(log.includes("watch1 asked who else is online (1 other)"), log.join("\n"));
  assert.ok(log.includes("watch1 asked who else was online in the last 60 s (1 other)"));
  assert.ok(log.includes("watch1 messaged watch2"));
  assert.ok(!log.some((l) => l.includes("the-text-itself") || l.includes("pw1")));
  assert.ok(log.includes("start-up check: the data directory is consistent, nothing to repair"));
});

Deno.test("--log-format json writes one object per line with an ISO time and the message", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "iotnet-server-" });
  await Deno.writeTextFile(join(dataDir, "credentials.txt"), "watch1 pw1\n");
  const child = iotnetCommand(
    ["server", "0", "3", "--data-dir", dataDir, "--log-format", "json"],
    { env: { IOTNET_HASH_PROFILE: "fast" } },
  ).spawn();
  const stdout = new LineCollector(child.stdout);
  const stderr = new LineCollector(child.stderr);
  await stdout.waitFor((l) => l.includes("start-up check"), 20_000);
  child.kill("SIGTERM");
  assert.equal((await child.status).code, 0);
  await Promise.all([stdout.done, stderr.done]);
  const entries = stdout.lines.map((l) => JSON.parse(l));
  for (const entry of entries) {
    assert.deepEqual(Object.keys(entry), ["time", "message"]);
    assert.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(entry.time) - Date.now()) < 60_000);
  }
  assert.match(entries[0].message, /^listening on 127\.0\.0\.1:\d+$/);
  assert.equal(entries.at(-1).message, "server stopped");
  await Deno.remove(dataDir, { recursive: true });
});

Deno.test("--log-format refuses a format it does not know", async () => {
  const out = await iotnetCommand(["server", "0", "3", "--log-format", "xml"]).output();
  assert.equal(out.code, 2);
  assert.match(new TextDecoder().decode(out.stderr), /--log-format.*xml.*text, json/s);
});
