/**
 * The dashboard's streams in process (Server-Sent Events): the fleet overview's (`GET /events`,
 * the overview at once and each second of the server's clock, the cap on live views, the close)
 * and the event feed's (`GET /feed/events`, the server's events as they happen).
 */

import assert from "node:assert/strict";
import { memorySource } from "./_helpers/files.ts";
import { TestServer } from "./_helpers/in_process_server.ts";
import { RawClient } from "./_helpers/raw_client.ts";

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

Deno.test("live feed: /events streams the overview live, to at most MAX_LIVE_CLIENTS at once", async () => {
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

Deno.test("live feed: closing the server ends the live streams instead of waiting on them", async () => {
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

Deno.test("live feed: the overview shows the last hour's uploads and the store's figures", async () => {
  const { STORE_FIGURES_MS } = await import("../server/http/store_figures.ts");
  const HOUR = 3_600_000;
  await using server = await TestServer.start({
    http: { port: 0 },
    attempts: 1,
    blockSeconds: 600,
    accounts: { watch1: "pw1", watch2: "pw2", watch3: "pw3" },
  });
  const http = server.server.http!;
  const url = `http://${http.hostname}:${http.port}/events`;
  const auth = bearer(await token(server));
  // Two uploads, a message for a device that is offline, a name locked out.
  const watch1 = await server.login("watch1");
  for (const [fileID, text] of [[1, "1\n2\n3\n"], [2, "10\n-20\n"]] as const) {
    const bytes = new TextEncoder().encode(text);
    await watch1.connection.upload(fileID, memorySource(bytes), bytes.length);
  }
  const sent = await watch1.connection.request("message", { to: "watch3", text: "later" });
  assert.equal(sent.delivery, "stored");
  const stranger = await server.connect();
  await assert.rejects(stranger.connection.request("login", { name: "watch2", password: "x" }));
  await server.waitForLog(/watch2 is locked out/);

  type Overview = {
    uploads: number;
    uploadsLastHour: number;
    uploadBytesLastHour: number;
    stored: Record<string, unknown> | null;
  };
  /** Overviews of a new stream, a second apart, until one passes `check`. */
  async function overviewWhere(check: (o: Overview) => boolean): Promise<Overview> {
    const reader = (await fetch(url, auth)).body!.getReader();
    try {
      for (let tick = 0; tick < 10; tick++) {
        const [event] = await sseEvents(reader, 1);
        const overview = event!.data as Overview;
        if (check(overview)) return overview;
        // The figures are read in the background, in real time, while virtual seconds pass
        // in no time: a scrape of /metrics waits for the read under way.
        await get(server, "/metrics", auth);
        server.advance(1_000);
      }
      throw new Error("no overview passed the check in 10 s");
    } finally {
      await reader.cancel();
    }
  }

  // The figures read when the listener started are older: read again once STORE_FIGURES_MS old.
  server.advance(STORE_FIGURES_MS);
  const overview = await overviewWhere((o) => o.stored?.storedFiles === 2);
  assert.equal(overview.uploads, 2);
  assert.equal(overview.uploadsLastHour, 2);
  assert.equal(overview.uploadBytesLastHour, 13);
  const { at, ...stored } = overview.stored!;
  assert.match(String(at), /^\d{4}-\d\d-\d\dT/);
  assert.deepEqual(stored, {
    accounts: 3,
    storedFiles: 2,
    storedSamples: 5,
    storedBytes: 13,
    offlineMessages: 1,
    lockouts: 1,
    lockoutsMore: false,
  });
  // The same figures as gauges.
  const metrics = await get(server, "/metrics", auth);
  for (
    const line of [
      "iotnet_accounts 3",
      "iotnet_stored_files 2",
      "iotnet_stored_samples 5",
      "iotnet_stored_bytes 13",
      "iotnet_offline_messages 1",
      "iotnet_lockouts 1",
    ]
  ) assert.match(metrics.body, new RegExp(`^${line}$`, "m"));

  // An hour later: the uploads have left the last hour (not the totals), the lockout has
  // ended, a delete and a delivered message are counted off.
  server.advance(HOUR);
  await watch1.connection.request("delete", { fileID: 1 });
  const watch3 = await server.login("watch3");
  const delivered = await watch3.push((p) => p.event === "message");
  assert.ok(delivered.event === "message" && delivered.kind === "offline");
  await watch3.connection.request("ack", { message: delivered.id! });
  server.advance(STORE_FIGURES_MS);
  const later = await overviewWhere((o) =>
    o.stored?.storedFiles === 1 && o.stored?.offlineMessages === 0
  );
  assert.equal(later.uploads, 2);
  assert.equal(later.uploadsLastHour, 0);
  assert.equal(later.uploadBytesLastHour, 0);
  assert.equal(later.stored!.storedSamples, 2);
  assert.equal(later.stored!.lockouts, 0);
});

Deno.test("event feed: logins, failed logins, a lockout, an upload, a delete, a logout and a refused connection, live", async () => {
  await using server = await TestServer.start({
    http: { port: 0 },
    attempts: 2,
    blockSeconds: 60,
    maxPendingLogins: 1,
  });
  const http = server.server.http!;
  const url = `http://${http.hostname}:${http.port}/feed/events`;
  assert.equal((await get(server, "/feed/events")).status, 401);
  // What happened before anyone watched comes as the backlog.
  const watch1 = await server.login("watch1");
  const feed = await fetch(url, bearer(await token(server)));
  assert.equal(feed.headers.get("content-type"), "text/event-stream");
  assert.equal(feed.headers.get("content-security-policy"), "default-src 'self'");
  const reader = feed.body!.getReader();
  const [backlog] = await sseEvents(reader, 1);
  assert.equal(backlog!.event, "backlog");
  const [joined] = (backlog!.data as { events: Record<string, unknown>[] }).events;
  assert.deepEqual({ ...joined, at: undefined }, {
    kind: "login",
    device: "watch1",
    ip: "127.0.0.1",
    udpPort: 9,
    seq: 1,
    at: undefined,
    text: "watch1 joined from 127.0.0.1, UDP port 9",
  });

  // Then each second, what is new.
  const stranger = await server.connect();
  await assert.rejects(
    stranger.connection.request("login", { name: "<img src=x>", password: "x" }),
  );
  for (let i = 0; i < 2; i++) {
    await assert.rejects(stranger.connection.request("login", { name: "watch2", password: "x" }));
  }
  const bytes = new TextEncoder().encode("1\n2\n3\n");
  await watch1.connection.upload(5, memorySource(bytes), bytes.length);
  await watch1.connection.request("delete", { fileID: 5 });
  await watch1.connection.request("logout", {});
  await server.waitForLog(/watch1 left/);
  // The stranger holds the one pending-login place: the next connection is refused.
  using _refused = await RawClient.connect(server.port);
  await server.waitForLog(/refused a connection from 127\.0\.0\.1/);
  server.advance(1_000);
  const [next] = await sseEvents(reader, 1);
  assert.equal(next!.event, "events");
  const events = (next!.data as { events: { kind: string; text: string; seq: number }[] }).events;
  assert.deepEqual(events.map((e) => [e.kind, e.text]), [
    ["login_failed", 'failed login as "<img src=x>" from 127.0.0.1 (bad_credentials)'],
    ["login_failed", "failed login as watch2 from 127.0.0.1 (bad_credentials)"],
    ["login_failed", "failed login as watch2 from 127.0.0.1 (blocked)"],
    [
      "lockout",
      "watch2 is locked out for 60 s after 2 failed logins in a row (the last from 127.0.0.1)",
    ],
    ["upload", "watch1 uploaded file 5 (3 samples, 6 bytes)"],
    ["delete", "watch1 deleted file 5"],
    ["logout", "watch1 left (logged out)"],
    [
      "refused",
      "refused a connection from 127.0.0.1: 1 connections are already waiting to log in",
    ],
  ]);
  assert.deepEqual(events.map((e) => e.seq), [2, 3, 4, 5, 6, 7, 8, 9]);
  // The same lines went to the server's log.
  for (const { text } of events) assert.ok(server.log.items.includes(text), text);
  await reader.cancel();
});

Deno.test("event feed: at most MAX_FEED_CLIENTS at once; closing the server ends the streams", async () => {
  const { MAX_FEED_CLIENTS } = await import("../server/http/event_feed.ts");
  await using server = await TestServer.start({ http: { port: 0 } });
  const http = server.server.http!;
  const url = `http://${http.hostname}:${http.port}/feed/events`;
  const auth = bearer(await token(server));
  const readers = [];
  for (let i = 0; i < MAX_FEED_CLIENTS; i++) {
    const reader = (await fetch(url, auth)).body!.getReader();
    await sseEvents(reader, 1);
    readers.push(reader);
  }
  const refused = await fetch(url, auth);
  assert.equal(refused.status, 503);
  assert.match(await refused.text(), new RegExp(`^${MAX_FEED_CLIENTS} event feeds are open`));
  await server.server.close();
  for (const reader of readers) assert.equal((await reader.read()).done, true);
});

Deno.test("event feed: a new account is an event of its own, before its login", async () => {
  await using server = await TestServer.start({
    http: { port: 0 },
    accounts: {},
    allowRegistration: true,
  });
  await server.login("newbie1", "s3cret1");
  const http = server.server.http!;
  const feed = await fetch(`http://${http.hostname}:${http.port}/feed/events`, {
    headers: { authorization: `Bearer ${await token(server)}` },
  });
  const reader = feed.body!.getReader();
  const [backlog] = await sseEvents(reader, 1);
  const events = (backlog!.data as { events: { kind: string; text: string }[] }).events;
  assert.deepEqual(events.map((e) => [e.kind, e.text]), [
    ["registered", "newbie1 registered a new account from 127.0.0.1"],
    ["login", "newbie1 joined from 127.0.0.1, UDP port 9"],
  ]);
  await reader.cancel();
});
