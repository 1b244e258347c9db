import assert from "node:assert/strict";
import { join } from "node:path";
import { EdgeProcess } from "./_helpers/edge_process.ts";
import { ServerProcess } from "./_helpers/server_process.ts";
import { listDir, waitUntil } from "./_helpers/wait.ts";

const TIMESTAMP = String.raw`\d{1,2} [A-Z][a-z]+ \d{4} \d{2}:\d{2}:\d{2}`;

/** Sum, average (6 places, half away from zero), min, max computed here, independently. */
function independent(text: string) {
  const values = text.trim().split("\n").map((l) => BigInt(l));
  const sum = values.reduce((a, b) => a + b, 0n);
  const n = BigInt(values.length);
  const scaled = (sum < 0n ? -sum : sum) * 1_000_000n;
  const rounded = (scaled * 2n + n) / (2n * n);
  const whole = rounded / 1_000_000n;
  const frac = (rounded % 1_000_000n).toString().padStart(6, "0").replace(/0+$/, "");
  const average = `${sum < 0n && rounded !== 0n ? "-" : ""}${whole}${frac ? `.${frac}` : ""}`;
  const min = values.reduce((a, b) => (b < a ? b : a));
  const max = values.reduce((a, b) => (b > a ? b : a));
  return { SUM: String(sum), AVERAGE: average, MIN: String(min), MAX: String(max) };
}

Deno.test("EDG, UED, SCS and DTE succeed and keep the logs in the SPEC format", async () => {
  await using server = await ServerProcess.start();
  await using edge = await EdgeProcess.start(server, { login: "watch1" });

  const edg = await edge.command("EDG 1 10");
  assert.equal(edg.ok, true);
  const local = await Deno.readTextFile(join(edge.dir, "watch1-1.txt"));
  assert.equal(local.trim().split("\n").length, 10);
  assert.ok(local.trim().split("\n").every((l) => /^-?\d+$/.test(l)));

  const ued = await edge.command("UED 1");
  assert.deepEqual({ ...ued, message: undefined }, {
    cmd: "UED",
    ok: true,
    message: undefined,
    fileID: 1,
    dataAmount: 10,
  });
  assert.equal(await server.read("uploads/watch1-1.txt"), local);
  assert.match(await server.read("upload-log.txt"), new RegExp(`^watch1; ${TIMESTAMP}; 1; 10\n$`));

  const expected = independent(local);
  for (const op of ["SUM", "AVERAGE", "MAX", "MIN"] as const) {
    const scs = await edge.command(`SCS 1 ${op}`);
    assert.equal(scs.ok, true);
    assert.equal(scs.op, op);
    assert.equal(scs.result, expected[op], op);
  }

  const dte = await edge.command("DTE 1");
  assert.equal(dte.ok, true);
  assert.equal(dte.fileID, 1);
  assert.match(
    await server.read("deletion-log.txt"),
    new RegExp(`^watch1; ${TIMESTAMP}; 1; 10\n$`),
  );
  assert.deepEqual(await listDir(join(server.dataDir, "uploads")), []);
  const after = await edge.command("SCS 1 SUM");
  assert.equal(after.error, "not_found");

  const out = await edge.command("OUT");
  assert.deepEqual(out, { cmd: "OUT", ok: true, message: "Bye, watch1!" });
  // SPEC §1, scripted use: the SCS above failed (as it should), so the exit code says so.
  assert.equal((await edge.exited()).code, 1);
});

Deno.test("two then three devices: AED lists the others and the active log renumbers on OUT", async () => {
  await using server = await ServerProcess.start();
  const logLine = (seq: number, name: string) =>
    new RegExp(`^${seq}; ${TIMESTAMP}; ${name}; 127\\.0\\.0\\.1; \\d+$`);
  const activeLog = async () =>
    (await server.read("edge-device-log.txt")).split("\n").filter(Boolean);
  assert.deepEqual(await activeLog(), []);

  await using a = await EdgeProcess.start(server, { login: "watch1" });
  assert.equal((await a.command("AED")).message, "No other active edge devices");
  await using b = await EdgeProcess.start(server, { login: "watch2" });
  const seenByA = await a.command("AED");
  assert.deepEqual((seenByA.devices as { name: string }[]).map((d) => d.name), ["watch2"]);
  const device = (seenByA.devices as Record<string, unknown>[])[0]!;
  // SPEC §5: every time in JSON output is ISO 8601 with its offset.
  assert.match(String(device.since), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  assert.ok(Math.abs(Date.parse(String(device.since)) - Date.now()) < 60_000);
  assert.equal(device.ip, "127.0.0.1");
  assert.ok(Number.isInteger(device.udpPort) && (device.udpPort as number) > 0);

  await using c = await EdgeProcess.start(server, { login: "watch3" });
  await c.command("AED");
  await waitUntil(async () => (await activeLog()).length === 3, "the log to list watch3");
  const three = await activeLog();
  assert.equal(three.length, 3);
  ["watch1", "watch2", "watch3"].forEach((n, i) => assert.match(three[i]!, logLine(i + 1, n)));

  assert.equal((await a.command("OUT")).ok, true);
  await a.exited();
  await server.waitForLog(/watch1 left/);
  await waitUntil(async () => (await activeLog()).length === 2, "the log to drop watch1");
  const two = (await c.command("AED")).devices as { name: string }[];
  assert.deepEqual(two.map((d) => d.name), ["watch2"]);
  const renumbered = await activeLog();
  assert.equal(renumbered.length, 2);
  assert.match(renumbered[0]!, logLine(1, "watch2"));
  assert.match(renumbered[1]!, logLine(2, "watch3"));

  // A dropped connection counts as OUT.
  b.kill();
  await b.exited();
  await server.waitForLog(/watch2 left/);
  // The log is rewritten asynchronously after the registry changes.
  await waitUntil(async () => (await activeLog()).length === 1, "the log to drop watch2");
  const one = await activeLog();
  assert.equal(one.length, 1);
  assert.match(one[0]!, logLine(1, "watch3"));
});

Deno.test("1,000,000 samples: SUM, AVERAGE, MAX and MIN match an independent computation", async () => {
  await using server = await ServerProcess.start();
  await using edge = await EdgeProcess.start(server, { login: "watch1" });
  assert.equal((await edge.command("EDG 8 1000000", 60_000)).ok, true);
  const ued = await edge.command("UED 8", 60_000);
  assert.equal(ued.dataAmount, 1_000_000);
  const expected = independent(await Deno.readTextFile(join(edge.dir, "watch1-8.txt")));
  for (const op of ["SUM", "AVERAGE", "MAX", "MIN"] as const) {
    assert.equal((await edge.command(`SCS 8 ${op}`)).result, expected[op], op);
  }
});

Deno.test("server shutdown by SIGTERM logs everyone out and empties the active log", async () => {
  await using server = await ServerProcess.start();
  // Without --no-reconnect the edge would wait for the server to come back.
  await using edge = await EdgeProcess.start(server, {
    login: "watch1",
    args: ["--no-reconnect"],
  });
  await edge.command("AED");
  const status = await server.stop("SIGTERM");
  assert.equal(status.code, 0);
  const lost = await edge.next((j) => j.event === "connection");
  assert.equal(lost.state, "lost");
  assert.match(String(lost.message), /shutting down|shut down|stopp/i);
  assert.equal((await edge.exited()).code, 1);
  assert.equal(await server.read("edge-device-log.txt"), "");
  assert.ok(server.log.includes("server stopped"));
});
