/**
 * The fleet overview's live feed (`GET /events`, Server-Sent Events) in process: the overview
 * at once and each second of the server's clock, the cap on live views, and the close.
 */

import assert from "node:assert/strict";
import { TestServer } from "./_helpers/in_process_server.ts";

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
