/**
 * The operator HTTP port (SPEC §8) in process: health, the token, the login cookie,
 * `/api/devices`, `/metrics` (checked by `promtool check metrics`), safe defaults.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { StartupError } from "../server/mod.ts";
import { startOperatorHttp } from "../server/http/operator_http.ts";
import { MetricsSnapshot } from "../server/http/metrics_snapshot.ts";
import { ServerMetrics } from "../server/http/metrics.ts";
import { Histogram } from "../server/http/histogram.ts";
import { ManualClock } from "../internal/mod.ts";
import { SECURITY_HEADERS } from "../server/http/security_headers.ts";
import { TestServer } from "./_helpers/in_process_server.ts";
import { findCommand, installHint } from "../scripts/tools.ts";

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

async function get(
  server: TestServer,
  path: string,
  init: RequestInit = {},
): Promise<Answer> {
  const http = server.server.http!;
  const response = await fetch(`http://${http.hostname}:${http.port}${path}`, {
    redirect: "manual",
    ...init,
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

async function token(server: TestServer): Promise<string> {
  return (await server.read("operator-token")).trim();
}

function bearer(value: string): RequestInit {
  return { headers: { authorization: `Bearer ${value}` } };
}

Deno.test("http: /healthz and /readyz answer anyone; every other path needs the token", async () => {
  await using server = await TestServer.start({ http: { port: 0 } });
  assert.deepEqual(
    [(await get(server, "/healthz")).status, (await get(server, "/readyz")).body],
    [200, "ready\n"],
  );
  const t = await token(server);
  const paths = ["/", "/metrics", "/api/devices", "/nothing-here"];
  for (const path of paths) {
    const none = await get(server, path);
    assert.equal(none.status, 401, `${path} without a token`);
    assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="iotnet"');
    assert.equal((await get(server, path, bearer(`${t}x`))).status, 401, `${path}, wrong token`);
    assert.equal((await get(server, path, bearer(t.slice(1)))).status, 401, `${path}, short`);
    assert.equal(
      (await get(server, path, { headers: { cookie: `iotnet_session=${t}` } })).status,
      401,
      `${path} with the token as the cookie`,
    );
    assert.equal(
      (await get(server, path, bearer(t))).status,
      path === "/nothing-here" ? 404 : 200,
      `${path} with the token`,
    );
  }
  assert.equal((await get(server, "/logout", { method: "POST" })).status, 401);
  // A browser gets the login page with its 401.
  const page = await get(server, "/", { headers: { accept: "text/html" } });
  assert.equal(page.status, 401);
  assert.match(page.body, /<form method="post" action="\/login">/);
});

Deno.test("http: every answer carries the security headers, CSP default-src 'self'", async () => {
  await using server = await TestServer.start({ http: { port: 0 } });
  const t = await token(server);
  for (const answer of [await get(server, "/healthz"), await get(server, "/metrics", bearer(t))]) {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      assert.equal(answer.headers.get(name), value, name);
    }
    assert.match(answer.headers.get("content-security-policy")!, /^default-src 'self'/);
  }
});

Deno.test("http: the token file is 0600, its path is logged, its content never", async () => {
  await using server = await TestServer.start({ http: { port: 0 } });
  const path = join(server.dataDir, "operator-token");
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  const t = await token(server);
  assert.match(t, /^[A-Za-z0-9_-]{43}$/);
  await server.waitForLog(new RegExp(`^operator token created in ${path}$`));
  const http = server.server.http!;
  await server.waitForLog(new RegExp(`^http on ${http.hostname}:${http.port}$`));
  // SPEC §8: after the `listening on` line.
  assert.match(server.log.items[0]!, /^listening on /);
  assert.match(server.log.items[1]!, /^http on /);
  // Use it, log in with it and fail with it: still never in the log.
  await get(server, "/metrics", bearer(t));
  await get(server, "/login", { method: "POST", body: new URLSearchParams({ token: t }) });
  await get(server, "/login", { method: "POST", body: new URLSearchParams({ token: `${t}!` }) });
  assert.ok(server.log.items.every((line) => !line.includes(t.slice(0, 12))));
});

Deno.test("http: a token file others may read stops the start, saying how to fix it", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "iotnet-token-" });
  try {
    await Deno.writeTextFile(join(dataDir, "credentials.txt"), "watch1 pw1\n");
    const path = join(dataDir, "operator-token");
    await Deno.writeTextFile(path, `${"a".repeat(43)}\n`, { mode: 0o644 });
    await Deno.chmod(path, 0o644);
    const { startServer } = await import("../server/mod.ts");
    await assert.rejects(
      startServer({ attempts: 3, dataDir, http: { port: 0 }, log: () => {} }),
      (error: Error) =>
        error instanceof StartupError && error.message.includes("may be read by others") &&
        error.message.includes(`chmod 600 ${path}`),
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("http: a token file without a token stops the start, saying to delete it", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "iotnet-token-" });
  try {
    await Deno.writeTextFile(join(dataDir, "credentials.txt"), "watch1 pw1\n");
    const path = join(dataDir, "operator-token");
    await Deno.writeTextFile(path, "short\n", { mode: 0o600 });
    const { startServer } = await import("../server/mod.ts");
    await assert.rejects(
      startServer({ attempts: 3, dataDir, http: { port: 0 }, log: () => {} }),
      (error: Error) =>
        error instanceof StartupError &&
        error.message ===
          `the operator token ${path} is not a token (one line of at least 32 characters, ` +
            "no spaces); delete it and the server makes a new one",
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("http: a non-loopback --http-host needs TLS or --insecure", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "iotnet-host-" });
  try {
    await Deno.writeTextFile(join(dataDir, "credentials.txt"), "watch1 pw1\n");
    const { startServer } = await import("../server/mod.ts");
    await assert.rejects(
      startServer({
        attempts: 3,
        dataDir,
        http: { port: 0, hostname: "0.0.0.0" },
        log: () => {},
      }),
      (error: Error) =>
        error instanceof StartupError &&
        /--http-host 0\.0\.0\.0 is not a loopback address.*--insecure/.test(error.message),
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("http: POST /login with the token sets an HttpOnly SameSite=Strict cookie that lets a browser in", async () => {
  await using server = await TestServer.start({ http: { port: 0 } });
  const t = await token(server);
  const wrong = await get(server, "/login", {
    method: "POST",
    headers: { accept: "text/html" },
    body: new URLSearchParams({ token: "not-it" }),
  });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get("set-cookie"), null);
  assert.match(wrong.body, /That is not the operator token\./);
  const right = await get(server, "/login", {
    method: "POST",
    body: new URLSearchParams({ token: t }),
  });
  assert.equal(right.status, 303);
  assert.equal(right.headers.get("location"), "/");
  const cookie = right.headers.get("set-cookie")!;
  assert.match(cookie, /^iotnet_session=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Strict$/);
  assert.ok(!cookie.includes(t), "the cookie is not the token");
  const session = cookie.split(";")[0]!;
  assert.equal((await get(server, "/api/devices", { headers: { cookie: session } })).status, 200);
  const out = await get(server, "/logout", { method: "POST", headers: { cookie: session } });
  assert.equal(out.status, 303);
  assert.match(out.headers.get("set-cookie")!, /^iotnet_session=; .*Max-Age=0/);
  // An oversized body is not read to its end.
  const big = await get(server, "/login", {
    method: "POST",
    body: `token=${"x".repeat(10_000)}`,
  });
  assert.equal(big.status, 401);
});

Deno.test("http: /api/devices pages and searches the devices online, and drops those that leave", async () => {
  await using server = await TestServer.start({ http: { port: 0 } });
  const auth = bearer(await token(server));
  const names = ["dev1", "dev2", "dev3", "watch1", "watch2"];
  const edges = [];
  for (const name of names) edges.push(await server.login(name));
  const all = JSON.parse((await get(server, "/api/devices", auth)).body);
  assert.equal(all.total, 5);
  assert.deepEqual(all.devices.map((d: { name: string }) => d.name), names);
  const first = all.devices[0];
  assert.deepEqual(Object.keys(first).sort(), ["ip", "name", "since", "udpPort"]);
  assert.equal(first.ip, "127.0.0.1");
  assert.equal(first.udpPort, 9);
  assert.equal(first.since, new Date(server.clock.now()).toISOString());
  const page = JSON.parse((await get(server, "/api/devices?q=WATCH&offset=1&limit=1", auth)).body);
  assert.deepEqual(page, {
    total: 2,
    offset: 1,
    limit: 1,
    devices: [{ ...all.devices[4] }],
  });
  const bad = await get(server, "/api/devices?limit=100000", auth);
  assert.equal(bad.status, 400);
  assert.deepEqual(JSON.parse(bad.body), {
    error: 'limit must be an integer 1..500, not "100000"',
  });
  await edges[3]!.connection.request("logout", {});
  await server.waitForLog(/^watch1 left/);
  const after = JSON.parse((await get(server, "/api/devices?q=watch", auth)).body);
  assert.deepEqual(after.devices.map((d: { name: string }) => d.name), ["watch2"]);
});

/** `promtool check metrics` on `text`: its exit code and what it said. */
async function promtoolCheck(text: string): Promise<{ code: number; said: string }> {
  const promtool = findCommand("promtool");
  if (!promtool) throw new Error(`promtool not found; ${installHint(["promtool"])}`);
  const child = new Deno.Command(promtool, {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  return { code, said: new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr) };
}

function sampleValue(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

Deno.test("http: /metrics passes promtool, counts what devices did, names no device", async () => {
  await using server = await TestServer.start({ http: { port: 0 } });
  const auth = bearer(await token(server));
  const a = await server.login("watch1");
  const b = await server.login("watch2");
  await assert.rejects(server.login("watch3", "wrong"));
  await a.connection.request("message", { to: "watch2", text: "hi" });
  await a.connection.request("message", { to: "dev7", text: "later" });
  await a.connection.request("broadcast", { text: "all" });
  await a.connection.request("devices", {});
  await b.connection.request("logout", {});
  await server.waitForLog(/^watch2 left/);
  server.advance(1_000); // the offline messages are read from the store once a second

  const text = (await get(server, "/metrics", auth)).body;
  const check = await promtoolCheck(text);
  assert.equal(check.code, 0, check.said);
  assert.equal(check.said, "", "promtool has nothing to say");
  for (const name of ["watch1", "watch2", "watch3", "dev7", "127.0.0.1"]) {
    assert.ok(!text.includes(name), `${name} in the metrics`);
  }
  const expected: [string, number][] = [
    ["iotnet_devices_online", 1],
    ["iotnet_devices_online_max", 2],
    ["iotnet_connections_total", 3],
    ['iotnet_logins_total{result="ok"}', 2],
    ['iotnet_logins_total{result="bad_credentials"}', 1],
    ['iotnet_logouts_total{reason="logout"}', 1],
    ['iotnet_messages_total{kind="direct"}', 1],
    ['iotnet_messages_total{kind="offline"}', 1],
    ['iotnet_messages_total{kind="broadcast"}', 1],
    ['iotnet_commands_total{command="message",result="ok"}', 2],
    ['iotnet_commands_total{command="devices",result="ok"}', 1],
    ['iotnet_command_duration_seconds_count{command="message"}', 2],
    ["iotnet_uploads_total", 0],
    ["iotnet_offline_messages_waiting", 1],
  ];
  for (const [series, value] of expected) {
    assert.equal(sampleValue(text, series), value, series);
  }
  for (const family of ["iotnet_command_duration_seconds", "iotnet_event_loop_lag_seconds"]) {
    assert.match(text, new RegExp(`^# TYPE ${family} histogram$`, "m"));
  }
  assert.ok(sampleValue(text, "process_resident_memory_bytes")! > 0);
  assert.ok(sampleValue(text, "iotnet_received_bytes_total")! > 0);
  assert.ok(sampleValue(text, "iotnet_sent_bytes_total")! > 0);

  // A snapshot at most once a second: the same text until the clock moves a second on.
  await a.connection.request("broadcast", { text: "again" });
  assert.equal((await get(server, "/metrics", auth)).body, text);
  server.advance(1_000);
  const later = (await get(server, "/metrics", auth)).body;
  assert.equal(sampleValue(later, 'iotnet_messages_total{kind="broadcast"}'), 2);
});

Deno.test("http: /readyz says 503 and why while the server is not ready", async () => {
  let notReady: string | undefined = "starting";
  const metrics = new ServerMetrics();
  const clock = new ManualClock();
  await using http = await startOperatorHttp({
    hostname: "127.0.0.1",
    port: 0,
    token: "t".repeat(43),
    metrics,
    clock,
    eventLoopLagSeconds: () => 0,
    snapshot: new MetricsSnapshot({
      metrics,
      clock,
      version: "0",
      startedAt: 0,
      connections: () => ({ open: 0, pendingLogin: 0 }),
      eventLoopLag: new Histogram(),
    }),
    notReady: () => notReady,
    devices: () => [],
    log: () => {},
  });
  const readyz = async () => {
    const response = await fetch(`http://127.0.0.1:${http.port}/readyz`);
    return [response.status, await response.text()];
  };
  assert.deepEqual(await readyz(), [503, "not ready: starting\n"]);
  notReady = undefined;
  assert.deepEqual(await readyz(), [200, "ready\n"]);
  notReady = "shutting down";
  assert.deepEqual(await readyz(), [503, "not ready: shutting down\n"]);
  const health = await fetch(`http://127.0.0.1:${http.port}/healthz`);
  assert.deepEqual([health.status, await health.text()], [200, "ok\n"]);
});

/** Reads SSE events off `body` until `count` have come. */
async function sseEvents(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  count: number,
): Promise<{ event: string; data: unknown }[]> {
  const decoder = new TextDecoder();
  const events: { event: string; data: unknown }[] = [];
  let buffer = "";
  while (events.length < count) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the stream ended after ${events.length} events`);
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) });
    }
  }
  return events;
}

Deno.test("http: /events streams the overview live, to at most MAX_LIVE_CLIENTS at once", async () => {
  const { MAX_LIVE_CLIENTS } = await import("../server/http/live_feed.ts");
  await using server = await TestServer.start({ http: { port: 0 } });
  const http = server.server.http!;
  const url = `http://${http.hostname}:${http.port}/events`;
  const auth = bearer(await token(server));
  assert.equal((await get(server, "/events")).status, 401);
  const watch = await fetch(url, auth);
  assert.equal(watch.headers.get("content-type"), "text/event-stream");
  const reader = watch.body!.getReader();
  const [first] = await sseEvents(reader, 1);
  assert.equal(first!.event, "overview");
  assert.deepEqual((first!.data as { devices: unknown[] }).devices, []);
  await server.login("watch1");
  server.advance(1_000);
  const [second] = await sseEvents(reader, 1);
  const overview = second!.data as { online: number; devices: { name: string }[] };
  assert.equal(overview.online, 1);
  assert.deepEqual(overview.devices.map((d) => d.name), ["watch1"]);
  // The cap: one is open; fill it, and the next is refused.
  const others = [];
  for (let i = 1; i < MAX_LIVE_CLIENTS; i++) others.push(await fetch(url, auth));
  const refused = await fetch(url, auth);
  assert.equal(refused.status, 503);
  assert.match(await refused.text(), new RegExp(`^${MAX_LIVE_CLIENTS} live views are open`));
  // A client that leaves frees its place (the stream's cancel).
  await others.pop()!.body!.cancel();
  await waitFor(async () => {
    const again = await fetch(url, auth);
    if (again.status === 200) others.push(again);
    else await again.body?.cancel();
    return again.status === 200;
  });
  for (const other of others) await other.body!.cancel();
  await reader.cancel();
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("http: closing the server ends the live streams instead of waiting on them", async () => {
  await using server = await TestServer.start({ http: { port: 0 } });
  const http = server.server.http!;
  const watch = await fetch(
    `http://${http.hostname}:${http.port}/events`,
    bearer(await token(server)),
  );
  const reader = watch.body!.getReader();
  await sseEvents(reader, 1);
  await server.server.close();
  assert.equal((await reader.read()).done, true);
});

Deno.test("http: offline messages waiting are read from the store at start and each second", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "iotnet-waiting-" });
  const { startServer } = await import("../server/mod.ts");
  const { EdgeConnection } = await import("../client/connection.ts");
  const clock = new ManualClock(Date.now());
  const start = () =>
    startServer({ attempts: 3, dataDir, http: { port: 0 }, log: () => {}, clock });
  const waiting = async (server: Awaited<ReturnType<typeof start>>, t: string) => {
    const response = await fetch(
      `http://127.0.0.1:${server.http!.port}/metrics`,
      bearer(t),
    );
    return sampleValue(await response.text(), "iotnet_offline_messages_waiting");
  };
  const login = async (server: Awaited<ReturnType<typeof start>>, name: string) => {
    const pushes: unknown[] = [];
    const edge = await EdgeConnection.connect({
      hostname: "127.0.0.1",
      port: server.port,
      onPush: (push) => pushes.push(push),
    });
    await edge.request("login", { name, password: name === "watch1" ? "pw1" : "pw2" });
    await edge.request("udp_port", { port: 9 });
    return { edge, pushes };
  };
  try {
    await Deno.writeTextFile(join(dataDir, "credentials.txt"), "watch1 pw1\nwatch2 pw2\n");
    {
      await using server = await start();
      const { edge } = await login(server, "watch1");
      await edge.request("message", { to: "watch2", text: "one" });
      await edge.request("message", { to: "watch2", text: "two" });
      edge.close();
    }
    await using server = await start();
    const t = (await Deno.readTextFile(join(dataDir, "operator-token"))).trim();
    assert.equal(await waiting(server, t), 2, "counted in the store at start");
    const { edge, pushes } = await login(server, "watch2");
    await waitFor(() => Promise.resolve(pushes.length === 2));
    for (const push of pushes as { id: number }[]) await edge.request("ack", { message: push.id });
    clock.advance(1_000); // the snapshot's second
    assert.equal(await waiting(server, t), 0, "acknowledged ones are gone");
    edge.close();
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("http: an idle logout is counted by its reason; closing the server closes the port", async () => {
  const server = await TestServer.start({ http: { port: 0 }, idleTimeoutSeconds: 2 });
  const auth = bearer(await token(server));
  const idle = await server.login("watch1");
  await server.waitForTimers(1);
  server.advance(2_000);
  await idle.logout();
  await server.waitForLog(/^watch1 left/);
  await server.login("watch2");
  server.advance(1_000);
  const text = (await get(server, "/metrics", auth)).body;
  assert.equal(sampleValue(text, 'iotnet_logouts_total{reason="idle"}'), 1);
  assert.equal(sampleValue(text, "iotnet_devices_online"), 1);
  const port = server.server.http!.port;
  await server[Symbol.asyncDispose]();
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), "the port is closed");
});
