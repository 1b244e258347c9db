/**
 * The operator HTTP of SPEC §8 on a server started in this process: health and readiness
 * for anyone, everything else behind the operator token (bearer or the login cookie),
 * `/metrics` accepted by promtool and counting what devices do, `/api/devices`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { EdgeConnection } from "../client/connection.ts";
import { type IotServer, startServer, StartupError } from "../server/mod.ts";
import { MAX_LOGIN_BODY_BYTES } from "../server/http/operator_http.ts";
import { promtoolCheck } from "./_helpers/promtool.ts";
import { skipWithout } from "./_helpers/required_tool.ts";
import { ServerProcess } from "./_helpers/server_process.ts";
import { waitUntil } from "./_helpers/wait.ts";

async function withServer(
  body: (s: {
    server: IotServer;
    base: string;
    token: string;
    tokenPath: string;
    logged: string[];
  }) => Promise<void>,
): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "iotnet-http-" });
  await Deno.writeTextFile(join(dataDir, "credentials.txt"), "watch1 pw1\nwatch2 pw2\n");
  const logged: string[] = [];
  const server = await startServer({
    attempts: 3,
    dataDir,
    http: { port: 0 },
    log: (line) => logged.push(line),
  });
  try {
    assert.ok(server.http, "the server reports its HTTP address");
    const tokenPath = join(dataDir, "operator-token");
    const token = (await Deno.readTextFile(tokenPath)).trim();
    await body({
      server,
      base: `http://${server.http.hostname}:${server.http.port}`,
      token,
      tokenPath,
      logged,
    });
  } finally {
    await server.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

async function login(server: IotServer, name: string, password: string) {
  const connection = await EdgeConnection.connect({
    hostname: server.hostname,
    port: server.port,
  });
  await connection.request("login", { name, password });
  await connection.request("udp_port", { port: 4242 });
  return connection;
}

Deno.test("operator HTTP: the token file is 0600, its path logged, its content never", async () => {
  await withServer(async ({ server, token, tokenPath, logged }) => {
    assert.equal((await Deno.stat(tokenPath)).mode! & 0o777, 0o600);
    assert.ok(token.length >= 32);
    assert.ok(logged.some((l) => l.includes(tokenPath)), logged.join("\n"));
    assert.ok(!logged.some((l) => l.includes(token)), "the token is in the log");
    assert.equal(server.http?.hostname, "127.0.0.1");
  });
});

Deno.test("operator HTTP: only /healthz and /readyz answer without the token", async () => {
  await withServer(async ({ base, token }) => {
    assert.equal((await get(`${base}/healthz`)).status, 200);
    const ready = await get(`${base}/readyz`);
    assert.deepEqual([ready.status, ready.body], [200, "ready\n"]);
    for (const path of ["/", "/metrics", "/api/devices", "/nothing", "/healthz/../metrics"]) {
      const refused = await get(`${base}${path}`);
      assert.equal(refused.status, 401, path);
      assert.equal(refused.headers.get("content-security-policy"), "default-src 'self'");
      const wrong = await get(`${base}${path}`, { authorization: `Bearer ${token}x` });
      assert.equal(wrong.status, 401, `${path} with a wrong token`);
    }
    const bearer = { authorization: `Bearer ${token}` };
    assert.equal((await get(`${base}/api/devices`, bearer)).status, 200);
    assert.equal((await get(`${base}/metrics`, bearer)).status, 200);
  });
});

Deno.test("operator HTTP: the login form sets an HttpOnly SameSite=Strict cookie that lets in", async () => {
  await withServer(async ({ base, token }) => {
    const wrong = await fetch(`${base}/login`, {
      method: "POST",
      body: new URLSearchParams({ token: "not it" }),
      redirect: "manual",
    });
    await wrong.body?.cancel();
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get("set-cookie"), null);
    const right = await fetch(`${base}/login`, {
      method: "POST",
      body: new URLSearchParams({ token }),
      redirect: "manual",
    });
    await right.body?.cancel();
    assert.equal(right.status, 303);
    const cookie = right.headers.get("set-cookie") ?? "";
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; SameSite=Strict/);
    assert.ok(!cookie.includes(token), "the cookie holds the token itself");
    const session = cookie.split(";")[0]!;
    // A body over MAX_LOGIN_BODY_BYTES is not read to its end, even holding the token.
    const big = await fetch(`${base}/login`, {
      method: "POST",
      body: `token=${token}&pad=${"x".repeat(MAX_LOGIN_BODY_BYTES)}`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      redirect: "manual",
    });
    await big.body?.cancel();
    assert.equal(big.status, 401);
    assert.equal((await get(`${base}/api/devices`, { cookie: session })).status, 200);
    assert.equal((await get(`${base}/api/devices`, { cookie: `${session}0` })).status, 401);
  });
});

Deno.test("operator HTTP: /api/devices lists who is online; /metrics counts logins and commands", async () => {
  await withServer(async ({ server, base, token }) => {
    const bearer = { authorization: `Bearer ${token}` };
    const one = await login(server, "watch1", "pw1");
    try {
      await assert.rejects(login(server, "watch2", "wrong"));
      const page = JSON.parse((await get(`${base}/api/devices`, bearer)).body);
      assert.deepEqual([page.total, page.offset, page.limit], [1, 0, 50]);
      const devices = page.devices;
      assert.equal(devices.length, 1);
      assert.deepEqual(
        { ...devices[0], since: typeof devices[0].since },
        {
          name: "watch1",
          since: "string",
          ip: "127.0.0.1",
          udpPort: 4242,
          files: 0,
          lastUpload: null,
          messagesWaiting: 0,
          lockedUntil: null,
        },
      );
      assert.ok(!Number.isNaN(Date.parse(devices[0].since)));
      const metrics = (await get(`${base}/metrics`, bearer)).body;
      assert.match(metrics, /^iotnet_devices_online 1$/m);
      assert.match(metrics, /^iotnet_logins_total\{result="ok"\} 1$/m);
      assert.match(metrics, /^iotnet_logins_total\{result="bad_credentials"\} 1$/m);
      assert.match(metrics, /^iotnet_commands_total\{command="udp_port",result="ok"\} 1$/m);
      assert.match(metrics, /^process_resident_memory_bytes \d+$/m);
      assert.ok(!metrics.includes("watch1"), "a device name is a label value");
    } finally {
      one.close();
    }
  });
});

Deno.test("operator HTTP: /metrics times the event loop and the store's commits, and counts disk waits", async () => {
  await withServer(async ({ server, base, token }) => {
    const one = await login(server, "watch1", "pw1"); // the login's visit is a store commit
    one.close();
    const count = (text: string, name: string) =>
      Number(new RegExp(`^${name}_count (\\d+)$`, "m").exec(text)?.[1] ?? 0);
    let metrics = "";
    // /metrics is rendered at most once a second: ask until the probe and the commit show.
    await waitUntil(async () => {
      metrics = (await get(`${base}/metrics`, { authorization: `Bearer ${token}` })).body;
      return count(metrics, "iotnet_event_loop_lag_seconds") > 0 &&
        count(metrics, "iotnet_store_commit_duration_seconds") > 0;
    }, "a lag probe and a store commit in /metrics");
    assert.match(metrics, /^# TYPE iotnet_event_loop_lag_seconds histogram$/m);
    assert.match(metrics, /^iotnet_event_loop_lag_seconds_bucket\{le="0.001"\} \d+$/m);
    assert.match(metrics, /^# TYPE iotnet_store_commit_duration_seconds histogram$/m);
    assert.match(metrics, /^iotnet_disk_operations_waiting 0$/m);
  });
});

Deno.test({
  name: "operator HTTP: promtool check metrics accepts a live server's /metrics",
  ignore: skipWithout("promtool"),
  async fn() {
    await withServer(async ({ server, base, token }) => {
      const one = await login(server, "watch1", "pw1");
      one.close();
      const body = (await get(`${base}/metrics`, { authorization: `Bearer ${token}` })).body;
      const { code, output: said } = await promtoolCheck(body);
      assert.equal(said, "");
      assert.equal(code, 0);
    });
  },
});

Deno.test("operator HTTP: a non-loopback address without TLS or --insecure is refused at start", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "iotnet-http-" });
  try {
    await Deno.writeTextFile(join(dataDir, "credentials.txt"), "watch1 pw1\n");
    await assert.rejects(
      startServer({ attempts: 3, dataDir, http: { port: 0, hostname: "0.0.0.0" }, log() {} }),
      (error: unknown) =>
        error instanceof StartupError && /not a loopback address.*--insecure/.test(error.message),
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("operator HTTP: an uploaded file's plot summary keeps its one-sample spike", async () => {
  await withServer(async ({ server, base, token }) => {
    const bearer = { authorization: `Bearer ${token}` };
    const one = await login(server, "watch1", "pw1");
    try {
      const samples = Array.from({ length: 10_000 }, (_, i) => i === 7_777 ? 4_000_000 : i % 7);
      const bytes = new TextEncoder().encode(samples.join("\n") + "\n");
      let at = 0;
      await one.upload(3, {
        read(buffer: Uint8Array): Promise<number | null> {
          if (at === bytes.length) return Promise.resolve(null);
          const n = Math.min(buffer.length, bytes.length - at);
          buffer.set(bytes.subarray(at, at + n));
          at += n;
          return Promise.resolve(n);
        },
      }, bytes.length);
      const plot = JSON.parse((await get(`${base}/api/files/watch1/3/plot`, bearer)).body);
      assert.equal(plot.count, 10_000);
      assert.ok(plot.max.length <= 2048);
      assert.equal(Math.max(...plot.max), 4_000_000);
      assert.equal(plot.max[Math.floor(7_777 / plot.width)], 4_000_000);
      assert.equal((await get(`${base}/api/files/watch1/4/plot`, bearer)).status, 404);
      assert.equal((await get(`${base}/api/files/watch1/3/plot`)).status, 401);
    } finally {
      one.close();
    }
  });
});

Deno.test("iotnet server --http 0 prints `http on` right after `listening on` and serves /healthz", async () => {
  await using server = await ServerProcess.start({ args: ["--http", "0"] });
  const index = await server.waitForLog(/^http on /);
  assert.equal(index, 1, server.log.join("\n"));
  const address = server.log[1]!.slice("http on ".length);
  assert.match(address, /^127\.0\.0\.1:\d+$/);
  const response = await fetch(`http://${address}/healthz`);
  assert.equal(await response.text(), "ok\n");
  const tokenPath = join(server.dataDir, "operator-token");
  const token = (await Deno.readTextFile(tokenPath)).trim();
  assert.ok(server.log.some((line) => line.includes(tokenPath)));
  assert.ok(!server.stdout.lines.some((line) => line.includes(token)));
});

Deno.test("operator HTTP: /api/devices pages and searches on the server, and drops who leaves", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "iotnet-http-page-" });
  const names = ["dev1", "dev2", "dev3", "watch1", "watch2"];
  await Deno.writeTextFile(
    join(dataDir, "credentials.txt"),
    names.map((n) => `${n} pw\n`).join(""),
  );
  const server = await startServer({ attempts: 3, dataDir, http: { port: 0 }, log: () => {} });
  const connections: EdgeConnection[] = [];
  try {
    const token = (await Deno.readTextFile(join(dataDir, "operator-token"))).trim();
    const bearer = { authorization: `Bearer ${token}` };
    const base = `http://${server.http!.hostname}:${server.http!.port}`;
    for (const name of names) connections.push(await login(server, name, "pw"));
    const all = JSON.parse((await get(`${base}/api/devices`, bearer)).body);
    assert.equal(all.total, 5);
    assert.deepEqual(all.devices.map((d: { name: string }) => d.name), names);
    const page = JSON.parse(
      (await get(`${base}/api/devices?q=WATCH&offset=1&limit=1`, bearer)).body,
    );
    assert.deepEqual(page, { total: 2, offset: 1, limit: 1, devices: [all.devices[4]] });
    const bad = await get(`${base}/api/devices?limit=100000`, bearer);
    assert.equal(bad.status, 400);
    assert.deepEqual(JSON.parse(bad.body), {
      error: 'limit must be an integer 1..500, not "100000"',
    });
    await connections[3]!.request("logout", {});
    await waitUntil(async () => {
      const after = JSON.parse((await get(`${base}/api/devices?q=watch`, bearer)).body);
      return after.total === 1 && after.devices[0].name === "watch2";
    }, "watch1 gone from /api/devices");
  } finally {
    for (const c of connections) c.close();
    await server.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("operator HTTP: /api/devices/<name> answers a device's presence and files, refuses bad names", async () => {
  await withServer(async ({ server, base, token }) => {
    const bearer = { authorization: `Bearer ${token}` };
    const one = await login(server, "watch1", "pw1");
    try {
      const detail = JSON.parse((await get(`${base}/api/devices/watch1`, bearer)).body);
      assert.equal(detail.name, "watch1");
      assert.equal(detail.online.ip, "127.0.0.1");
      assert.deepEqual(detail.files, []);
      assert.equal((await get(`${base}/api/devices/watch1`)).status, 401);
      const unknown = await get(`${base}/api/devices/nobody`, bearer);
      assert.equal(unknown.status, 404);
      assert.match(JSON.parse(unknown.body).error, /no device named nobody/);
      const bad = await get(`${base}/api/devices/${encodeURIComponent("<b>")}`, bearer);
      assert.equal(bad.status, 400);
      assert.match(JSON.parse(bad.body).error, /device name may hold only/);
      // Broken percent-encoding is a 400 with a reason, not a server error.
      assert.equal((await get(`${base}/api/devices/%E0%A4%A`, bearer)).status, 400);
      const plot = await get(`${base}/api/files/%E0%A4%A/1/plot`, bearer);
      assert.equal(plot.status, 400);
      assert.match(plot.body, /not valid URL encoding/);
      assert.equal((await get(`${base}/devices/watch1`, bearer)).status, 200);
    } finally {
      one.close();
    }
  });
});
