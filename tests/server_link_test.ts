/**
 * The edge's reconnecting link (`client/server_link.ts`) over in-memory connections, in
 * virtual time: the backoff between attempts, a login again with the same credentials,
 * commands refused at once while down, and the ends (a refused login, `--no-reconnect`).
 */
import assert from "node:assert/strict";
import { EdgeConnection } from "../client/connection.ts";
import { DisconnectedError, type LinkEvent, ServerLink } from "../client/server_link.ts";
import { ManualClock } from "../internal/clock.ts";
import { BadCredentialsError } from "../protocol/errors.ts";
import { ok, ScriptedServer } from "./_helpers/scripted_server.ts";

/** Lets the promise chains started by a timer run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function harness(options: { reconnect?: boolean } = {}) {
  const clock = new ManualClock();
  const servers: ScriptedServer[] = [];
  const events: LinkEvent[] = [];
  /** What the next connects do: "refuse" (nothing listens) or "accept". */
  const plan: ("refuse" | "accept")[] = [];
  const connectTimes: number[] = [];
  const logins: string[] = [];
  const open = async () => {
    const server = new ScriptedServer((r) => [
      ok(r, r.op === "whoelse" ? { devices: [] } : r.op === "login" ? { ticketKey: "AA==" } : {}),
    ]);
    servers.push(server);
    return await EdgeConnection.open(server.stream, {
      localHostname: "127.0.0.1",
      server: "test",
      clock,
    });
  };
  const link = new ServerLink({
    clock,
    random: () => 0,
    reconnect: options.reconnect ?? true,
    connect: () => {
      connectTimes.push(clock.now());
      if ((plan.shift() ?? "accept") === "refuse") {
        return Promise.reject(new Error("connection refused"));
      }
      return open();
    },
    login: async (connection) => {
      logins.push(String(clock.now()));
      await connection.request("login", { name: "watch1", password: "pw1" });
    },
    onPush: () => {},
    onEvent: (event) => events.push(event),
  });
  return { clock, servers, events, plan, connectTimes, logins, link, open };
}

Deno.test("a dropped link reconnects after 1 s, then 2 s, 4 s between failed attempts, and logs in again", async () => {
  const h = harness();
  h.link.attach(await h.open());
  h.plan.push("refuse", "refuse");
  h.servers[0]!.end();
  await settle();
  assert.deepEqual(h.events, [{
    type: "lost",
    reason: "the server closed the connection",
    reconnecting: true,
  }]);
  assert.throws(() => h.link.request("whoelse", {}), DisconnectedError);
  assert.equal(h.link.connected, false);

  h.clock.advance(999);
  await settle();
  assert.deepEqual(h.connectTimes, [], "no attempt before 1 s");
  h.clock.advance(1);
  await settle();
  assert.deepEqual(h.connectTimes, [1_000]);
  h.clock.advance(2_000);
  await settle();
  assert.deepEqual(h.connectTimes, [1_000, 3_000]);
  h.clock.advance(4_000);
  await settle();
  await settle();
  assert.deepEqual(h.connectTimes, [1_000, 3_000, 7_000]);
  assert.deepEqual(h.logins, ["7000"], "logged in again over the connection that came up");
  assert.deepEqual(h.events.slice(1), [
    { type: "retrying", attempt: 1, reason: "connection refused", delayMs: 2_000 },
    { type: "retrying", attempt: 2, reason: "connection refused", delayMs: 4_000 },
    { type: "restored", attempts: 3 },
  ]);
  assert.equal(h.link.connected, true);
  assert.deepEqual(await h.link.request("whoelse", {}), { devices: [] });
  h.link.close();
  assert.equal(h.clock.pending, 0, "closing leaves no timer");
});

Deno.test("the waits stop growing at 30 s", async () => {
  const h = harness();
  h.link.attach(await h.open());
  h.plan.push(...Array<"refuse">(8).fill("refuse"));
  h.servers[0]!.end();
  await settle();
  for (let second = 0; second < 200; second++) {
    h.clock.advance(1_000);
    await settle();
  }
  const gaps = h.connectTimes.map((t, i) => t - (h.connectTimes[i - 1] ?? 0));
  assert.deepEqual(gaps.slice(0, 8), [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  h.link.close();
});

Deno.test("a login refused on reconnecting ends the link, saying why", async () => {
  const clock = new ManualClock();
  let first = true;
  const link = new ServerLink({
    clock,
    random: () => 0,
    reconnect: true,
    connect: () => {
      const server = new ScriptedServer((r) => [ok(r)]);
      return EdgeConnection.open(server.stream, { localHostname: "x", server: "test", clock });
    },
    login: () => {
      if (first) return Promise.resolve();
      return Promise.reject(new BadCredentialsError("Invalid name or password."));
    },
    onPush: () => {},
    onEvent: () => {},
  });
  const server = new ScriptedServer((r) => [ok(r)]);
  link.attach(await EdgeConnection.open(server.stream, { localHostname: "x", server: "t", clock }));
  first = false;
  server.end();
  await settle();
  clock.advance(1_000);
  await settle();
  await settle();
  const end = await link.ended;
  assert.equal(end.refused, true);
  assert.match(end.reason, /refused the login on reconnecting: Invalid name or password/);
});

Deno.test("with reconnecting off (--no-reconnect) a drop ends the link at once", async () => {
  const h = harness({ reconnect: false });
  h.link.attach(await h.open());
  h.servers[0]!.end();
  const end = await h.link.ended;
  assert.equal(end.refused, false);
  assert.match(end.reason, /lost the connection to the server/);
  h.clock.advance(60_000);
  await settle();
  assert.deepEqual(h.connectTimes, []);
});

Deno.test("a connection the server closes after answering a logout is not lost: no event, no reconnect", async () => {
  const h = harness();
  h.link.attach(await h.open());
  const answered = h.link.request("logout", {});
  // The answer and the close in one read, as behind haproxy.
  await settle();
  h.servers[0]!.end();
  await answered;
  await settle();
  h.clock.advance(60_000);
  await settle();
  assert.deepEqual(h.events, []);
  assert.deepEqual(h.connectTimes, []);
  assert.equal(h.link.connected, false);
});

Deno.test("an idle logout ends the link without reconnecting", async () => {
  const h = harness();
  h.link.attach(await h.open());
  h.servers[0]!.push({ t: "push", event: "logout", reason: "idle", message: "idle for 60 s" });
  h.servers[0]!.end();
  const end = await h.link.ended;
  assert.equal(end.logout?.reason, "idle");
  h.clock.advance(60_000);
  await settle();
  assert.deepEqual(h.connectTimes, []);
});

Deno.test("the edge answers the server's keepalive and sends its own after one silent interval", async () => {
  const clock = new ManualClock();
  const server = new ScriptedServer((r) => [ok(r)]);
  server.keepaliveMs = 1_000;
  const connection = await EdgeConnection.open(server.stream, {
    localHostname: "x",
    server: "t",
    clock,
  });
  server.push({ t: "push", event: "keepalive" });
  await settle();
  assert.equal(server.requests.at(-1)?.op, "keepalive", "answered the server's keepalive");
  // The scripted server answers the edge's own keepalive requests: never silent.
  const sent = server.requests.length;
  clock.advance(1_000);
  await settle();
  assert.equal(server.requests.length, sent + 1, "asked after one silent interval");
  assert.equal(connection.isClosed, false);
  connection.close();
});

Deno.test("an edge whose server says nothing more closes after three keepalive intervals", async () => {
  const clock = new ManualClock();
  // Answers the hello only, then nothing: a frozen server.
  const server = new ScriptedServer(() => []);
  server.keepaliveMs = 1_000;
  const connection = await EdgeConnection.open(server.stream, {
    localHostname: "x",
    server: "t",
    clock,
  });
  clock.advance(2_999);
  await settle();
  assert.equal(connection.isClosed, false);
  assert.deepEqual(server.requests.map((r) => r.op), ["hello", "keepalive", "keepalive"]);
  clock.advance(1);
  assert.equal(await connection.closed, "the server sent nothing for 3 s (keepalive 1 s)");
});
