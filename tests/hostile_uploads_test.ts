import assert from "node:assert/strict";
import { EdgeProcess } from "./_helpers/edge_process.ts";
import { RawClient } from "./_helpers/raw_client.ts";
import { ServerProcess } from "./_helpers/server_process.ts";
import { within } from "./_helpers/wait.ts";

/** Upload requests a hostile device leaves half-finished on its one connection. */
const HALF_FINISHED = 40;

Deno.test("40 half-finished uploads on one connection hold no turn: others' UED and SCS finish, its own requests are served, and a disconnect frees its name", async () => {
  await using server = await ServerProcess.start();
  await using victim = await EdgeProcess.start(server, { login: "watch1" });
  assert.equal((await victim.command("EDG 1 1000")).ok, true);

  const attacker = await RawClient.connect(server.port, "watch2");
  try {
    // Each declares 4 bytes and sends 2, then the connection goes silent.
    const ids: number[] = [];
    for (let i = 0; i < HALF_FINISHED; i++) {
      ids.push(await attacker.send({ op: "upload", fileID: i, bytes: 4 }));
    }
    for (const id of ids) await attacker.sendData(id, new TextEncoder().encode("1\n"));

    // The attacker's own requests are still read and answered.
    const devices = await within(attacker.request({ op: "devices" }), "the attacker's AED", 5_000);
    assert.ok(devices.t === "res" && devices.ok, JSON.stringify(devices));

    // Another device's upload and SCS are served promptly.
    const started = performance.now();
    const upload = await victim.command("UED 1", 10_000);
    assert.equal(upload.ok, true, JSON.stringify(upload));
    const scs = await victim.command("SCS 1 SUM", 5_000);
    assert.equal(scs.ok, true, JSON.stringify(scs));
    const ms = performance.now() - started;
    assert.ok(ms < 3_000, `UED of 1,000 samples and SCS took ${ms.toFixed(0)} ms`);
  } finally {
    attacker[Symbol.dispose]();
  }
  // The disconnect is noticed at once: the name is free again.
  await server.waitForLog(/watch2 left/, 5_000);
  using again = await within(RawClient.connect(server.port, "watch2"), "a new login", 5_000);
  const res = await within(again.request({ op: "devices" }), "AED after the new login", 5_000);
  assert.ok(res.t === "res" && res.ok);
});
