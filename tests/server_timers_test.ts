/**
 * Every timer of the server, in virtual time: the server runs in this process on a
 * `ManualClock` (tests/_helpers/in_process_server.ts), so a 10 s block or a 60 s request
 * expiry is one `advance` and no test waits out a deadline. The end-to-end tests of the same
 * features (real processes, real seconds) are one each: login_test.ts (block),
 * concurrency_test.ts (idle logout), upload_faults_test.ts (login deadline), limits_test.ts
 * (frame deadline under load, a device that stops reading).
 */

import assert from "node:assert/strict";
import { encodeMessage } from "../protocol/codec.ts";
import { BlockedError, BusyError, NotFoundError } from "../protocol/errors.ts";
import {
  CONCURRENT_UPLOADS,
  MAX_QUEUED_OUTBOUND_BYTES,
  PRIVATE_REQUEST_TIMEOUT_MS,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
} from "../protocol/limits.ts";
import { TURN_IDLE_MS } from "../server/upload_turns.ts";
import { TestServer } from "./_helpers/in_process_server.ts";
import { HELLO, RawClient } from "./_helpers/raw_client.ts";
import { waitUntil, within } from "./_helpers/wait.ts";

const HELLO_ARGS = { protocol: PROTOCOL_NAME, version: PROTOCOL_VERSION };

/** The login's refusal class, or "ok". */
async function loginOutcome(server: TestServer, name: string, password: string) {
  const edge = await server.connect();
  try {
    await edge.connection.request("login", { name, password });
    return "ok";
  } catch (error) {
    return error as Error;
  } finally {
    edge.connection.close();
  }
}

Deno.test("a block lasts --block-seconds of server time from the failure that started it; guesses during it neither get in nor extend it", async () => {
  await using server = await TestServer.start({ attempts: 3, blockSeconds: 10 });
  for (const guess of ["wrong1", "wrong2"]) {
    assert.equal(
      (await loginOutcome(server, "watch1", guess) as Error).name,
      "BadCredentialsError",
    );
  }
  const blocked = await loginOutcome(server, "watch1", "wrong3");
  assert.ok(blocked instanceof BlockedError);
  assert.match(blocked.message, /watch1 is blocked for 10 s/);
  const start = server.clock.now();
  // The right password, and more guesses, all through the block.
  for (const step of [1_000, 4_000, 9_999]) {
    server.advance(step - (server.clock.now() - start));
    for (const password of ["pw1", "wrong"]) {
      const refused = await loginOutcome(server, "watch1", password);
      assert.ok(refused instanceof BlockedError, `${password} at ${step} ms`);
    }
  }
  assert.match(
    ((await loginOutcome(server, "watch1", "pw1")) as Error).message,
    /blocked for 1 s/, // 1 ms left, rounded up
  );
  // Had the guesses extended the block, it would run until 9,999 + 10,000 ms.
  server.advance(1);
  assert.equal(await loginOutcome(server, "watch1", "pw1"), "ok");
  await server.waitForLog(/failed login as watch1 from 127\.0\.0\.1 \(blocked\)/);
});

Deno.test("an idle device is logged out after --idle-timeout of server time, the others are told, and each command restarts its wait", async () => {
  await using server = await TestServer.start({ idleTimeoutSeconds: 2 });
  const a = await server.login("watch1");
  const b = await server.login("watch2");
  server.advance(1_500);
  await b.connection.request("whoelse", {});
  server.advance(500); // a: 2 s quiet; b: 0.5 s since its command
  const logout = await a.logout();
  assert.deepEqual(
    [logout.reason, logout.message],
    ["idle", "logged out after 2 s without a command"],
  );
  await b.push(
    (p) => p.event === "presence" && p.device === "watch1" && p.state === "offline",
    "watch1 offline at watch2",
  );
  await server.waitForLog(/watch1 left \(logged out after 2 s without a command\)/);
  // The edge's close reason quotes the server's own (issue 12: the real reason).
  assert.equal(
    await a.connection.closed,
    "the server closed the connection: logged out after 2 s without a command",
  );
  assert.equal(b.connection.isClosed, false);
  server.advance(1_499);
  assert.equal((await b.connection.request("whoelse", {})).devices.length, 0);
  server.advance(1_999);
  assert.equal(b.connection.isClosed, false);
  server.advance(1);
  assert.equal((await b.logout()).reason, "idle");
});

Deno.test("without --idle-timeout a device stays logged in however long it is quiet", async () => {
  await using server = await TestServer.start();
  const a = await server.login("watch1");
  assert.equal(server.clock.pending, 0, "a logged-in device without idle timeout has no timer");
  server.advance(24 * 3600_000);
  assert.equal((await a.connection.request("whoelse", {})).devices.length, 0);
});

Deno.test("a connection that does not log in is closed at the login deadline of server time; one that logs in keeps no deadline", async () => {
  await using server = await TestServer.start({ loginDeadlineMs: 5_000, idleTimeoutSeconds: 0 });
  using idle = await RawClient.connect(server.port);
  await server.waitForTimers(1);
  const early = await server.login("watch1"); // logged in: its deadline is cleared
  server.advance(4_999);
  assert.ok(!server.log.items.some((l) => l.includes("ended before login")));
  server.advance(1);
  const messages = await idle.drainUntilClosed();
  assert.ok(
    messages.some((m) =>
      m.t === "push" && m.event === "logout" && m.reason === "login_timeout" &&
      m.message === "no login within 5 s"
    ),
    JSON.stringify(messages),
  );
  await server.waitForLog(
    /connection from 127\.0\.0\.1 ended before login \(no login within 5 s\)/,
  );
  server.advance(60_000);
  assert.equal(early.connection.isClosed, false);
  assert.equal((await early.connection.request("whoelse", {})).devices.length, 0);
});

Deno.test("a frame started must arrive whole within the frame deadline of server time; a whole frame clears it", async () => {
  await using server = await TestServer.start({ frameDeadlineMs: 1_000, loginDeadlineMs: 600_000 });
  using trickler = await RawClient.connect(server.port);
  using steady = await RawClient.connect(server.port);
  await server.waitForTimers(2); // the two login deadlines
  await trickler.write(new Uint8Array([0, 0, 0, 40, 0x01, 0x7b])); // 6 of 44 bytes
  await server.waitForTimers(3); // and the frame deadline
  // The steady one sends a frame in two parts: the first arms its deadline, the rest clears it.
  const hello = encodeMessage({ t: "req", id: 1, op: "hello", ...HELLO_ARGS });
  await steady.write(hello.subarray(0, 5));
  await server.waitForTimers(4);
  await steady.write(hello.subarray(5));
  const reply = await steady.receive((m) => m.t === "res");
  assert.ok(reply.t === "res" && reply.ok);
  server.advance(999);
  assert.ok(!server.log.items.some((l) => l.includes("took longer")));
  server.advance(1);
  const messages = await trickler.drainUntilClosed();
  assert.ok(
    messages.some((m) =>
      m.t === "push" && m.event === "logout" && m.reason === "protocol" &&
      /a frame took longer than 1 s to arrive/.test(m.message)
    ),
    JSON.stringify(messages),
  );
  await server.waitForLog(/ended before login \(a frame took longer than 1 s to arrive\)/);
  const again = await steady.request(HELLO);
  assert.ok(again.t === "res" && !again.ok && again.error === "bad_args", "steady is served");
});

Deno.test("a device that stops reading is dropped past its queue cap; its close waits for its output only until the close flush", async () => {
  await using server = await TestServer.start();
  const stalled = await RawClient.connect(server.port, "watch1"); // never reads again
  const sender = await server.login("watch2");
  const text = "x".repeat(4000);
  let left: string | undefined;
  for (let i = 0; i < 4000 && left === undefined; i++) {
    await sender.connection.request("broadcast", { text });
    left = server.log.items.find((l) => l.includes("watch1 left"));
  }
  assert.equal(
    left,
    `watch1 left (stopped reading (over ${MAX_QUEUED_OUTBOUND_BYTES} bytes queued))`,
  );
  // Its socket stays open while the write in flight may still finish...
  assert.ok(server.clock.pending >= 1, "the close flush is a timer on the server's clock");
  // ...and the server's own shutdown does not wait for it.
  await server.server.close();
  server.advance(2_000);
  await stalled.drainUntilClosed();
  stalled[Symbol.dispose]();
});

Deno.test("a private-chat request expires after PRIVATE_REQUEST_TIMEOUT_MS of server time", async () => {
  await using server = await TestServer.start();
  const a = await server.login("watch1");
  const b = await server.login("watch2");
  await a.connection.request("startprivate", { device: "watch2" });
  await b.push((p) => p.event === "private" && p.state === "requested", "the request");
  server.advance(PRIVATE_REQUEST_TIMEOUT_MS - 1);
  // Still open: declining it is answered...
  await b.connection.request("private_answer", { device: "watch1", accept: false });
  await a.push((p) => p.event === "private" && p.state === "declined", "the decline");
  // ...and a new one, left to expire, is not.
  await a.connection.request("startprivate", { device: "watch2" });
  server.advance(PRIVATE_REQUEST_TIMEOUT_MS);
  await assert.rejects(
    b.connection.request("private_answer", { device: "watch1", accept: true }),
    (error) =>
      error instanceof NotFoundError &&
      error.message === "there is no open private chat request from watch1",
  );
});

Deno.test("registrations per address are spread over server time: one a minute at 1/min", async () => {
  await using server = await TestServer.start({
    accounts: {},
    allowRegistration: true,
    registrationsPerMinute: 1,
  });
  await server.login("newbie1", "s3cret1");
  const second = await loginOutcome(server, "newbie2", "s3cret2");
  assert.ok(second instanceof BusyError);
  assert.match(second.message, /at most 1 a minute\); try again in 60 s/);
  server.advance(59_000);
  assert.match(((await loginOutcome(server, "newbie2", "s3cret2")) as Error).message, /1 s$/);
  server.advance(1_000);
  await server.login("newbie2", "s3cret2");
});

Deno.test("whoelsesince counts server time: a device that left 10 s ago is in the last 11 s, not the last 9 s", async () => {
  await using server = await TestServer.start();
  const a = await server.login("watch1");
  const b = await server.login("watch2");
  a.connection.close();
  await server.waitForLog(/watch1 left/);
  server.advance(10_000);
  // History is written by group commit, on real time: wait for it, not for the clock.
  const since = async (seconds: number) =>
    (await b.connection.request("whoelsesince", { seconds })).devices;
  await waitUntil(async () => (await since(11)).includes("watch1"), "watch1's history");
  assert.deepEqual(await since(11), ["watch1"]);
  assert.deepEqual(await since(9), []);
});

Deno.test("uploads that go quiet give their turns up after TURN_IDLE_MS of server time, so a waiting upload goes on", async () => {
  await using server = await TestServer.start();
  const quiet = await Promise.all(
    Array.from({ length: CONCURRENT_UPLOADS }, (_, i) => RawClient.connect(server.port, `dev${i}`)),
  );
  try {
    for (const raw of quiet) {
      const id = await raw.send({ op: "upload", fileID: 1, bytes: 10 });
      await raw.sendData(id, new TextEncoder().encode("1\n2\n")); // 4 of 10 bytes, then silence
    }
    await server.waitForTimers(CONCURRENT_UPLOADS); // every turn taken, its idle watch running
    const late = await server.login("watch1");
    const bytes = new TextEncoder().encode("5\n");
    let at = 0;
    const uploaded = late.connection.upload(7, {
      read: (buffer) => {
        if (at === bytes.length) return Promise.resolve(null);
        buffer.set(bytes);
        at = bytes.length;
        return Promise.resolve(bytes.length);
      },
    }, bytes.length);
    server.advance(TURN_IDLE_MS);
    assert.equal((await within(uploaded, "the waiting upload", 5_000)).fileID, 7);
  } finally {
    for (const raw of quiet) raw[Symbol.dispose]();
  }
});
