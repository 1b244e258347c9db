/**
 * The server's keepalive (SPEC §1 "Keepalive") in virtual time: a silent connection is
 * sent a `keepalive` after one interval and closed, its device logged out with presence,
 * after three; keepalive traffic is not a command for `--idle-timeout`.
 */
import assert from "node:assert/strict";
import { TestServer } from "./_helpers/in_process_server.ts";
import { RawClient } from "./_helpers/raw_client.ts";
import { waitUntil } from "./_helpers/wait.ts";

const SECOND = 1_000;

Deno.test("a silent device is pinged after one keepalive and logged out after three, the others told", async () => {
  await using server = await TestServer.start({ keepaliveMs: 15 * SECOND, http: { port: 0 } });
  const watcher = await server.login("watch2");
  using frozen = await RawClient.connect(server.port, "watch1"); // answers nothing
  await server.waitForLog(/watch1 joined/);
  // Both sessions' watches are armed (and watch2's edge answers its pings in real time).
  await server.waitForTimers(2);
  server.advance(15 * SECOND - 1);
  server.advance(1);
  const ping = await frozen.receive((m) => m.t === "push");
  assert.deepEqual(ping, { t: "push", event: "keepalive" });
  // watch2 stays in use (its answers to pings arrive in real time, after an advance).
  await watcher.connection.request("whoelse", {});
  server.advance(15 * SECOND);
  await watcher.connection.request("whoelse", {});
  // Still logged in between the first ping and the third interval.
  assert.ok(!server.log.items.some((l) => /watch1 left/.test(l)));
  server.advance(15 * SECOND);
  const logout = await frozen.receive((m) => m.t === "push" && m.event === "logout");
  assert.equal((logout as { reason: string }).reason, "silent");
  assert.match(
    await server.waitForLog(/watch1 left/),
    /watch1 left \(nothing heard from the device for 45 s \(keepalive 15 s\); logged out\)/,
  );
  const offline = await watcher.push(
    (p) => p.event === "presence" && p.state === "offline",
    `watch1 offline at watch2; log: ${server.log.items.join(" | ")}`,
  );
  assert.equal((offline as { device: string }).device, "watch1");
  await waitUntil(
    async () => !(await server.read("edge-device-log.txt")).includes("watch1"),
    "watch1 gone from the active log",
  );
  // Counted as its own reason, not as a protocol error.
  server.advance(SECOND); // past the metrics snapshot's age
  const token = (await server.read("operator-token")).trim();
  const { hostname, port } = server.server.http!;
  const metrics = await fetch(`http://${hostname}:${port}/metrics`, {
    headers: { authorization: `Bearer ${token}` },
  }).then((r) => r.text());
  assert.match(metrics, /^iotnet_logouts_total\{reason="silent"\} 1$/m);
  assert.doesNotMatch(metrics, /^iotnet_logouts_total\{reason="protocol"\}/m);
});

Deno.test("a device that answers keeps its connection; keepalives never count for --idle-timeout", async () => {
  await using server = await TestServer.start({
    keepaliveMs: 10 * SECOND,
    idleTimeoutSeconds: 35,
  });
  using device = await RawClient.connect(server.port, "watch1");
  await server.waitForLog(/watch1 joined/);
  await server.waitForTimers(2); // the keepalive watch and the idle timer
  for (let i = 1; i <= 3; i++) {
    server.advance(10 * SECOND);
    await device.receive((m) => m.t === "push" && m.event === "keepalive");
    const answer = await device.request({ op: "keepalive" });
    assert.equal((answer as { ok: boolean }).ok, true);
  }
  // 30 s of keepalives, no command: not logged out for silence, and still idle.
  assert.ok(!server.log.items.some((l) => /watch1 left/.test(l)));
  server.advance(5 * SECOND);
  const logout = await device.receive((m) => m.t === "push" && m.event === "logout");
  assert.equal((logout as { reason: string }).reason, "idle");
});

Deno.test("keepalive is allowed before login and is not refused out of turn", async () => {
  await using server = await TestServer.start({ keepaliveMs: 10 * SECOND });
  using stranger = await RawClient.connect(server.port);
  for (let i = 0; i < 5; i++) {
    const answer = await stranger.request({ op: "keepalive" });
    assert.equal((answer as { ok: boolean }).ok, true);
  }
});
