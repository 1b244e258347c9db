import assert from "node:assert/strict";
import { encodeMessage } from "../protocol/codec.ts";
import { encodeDataFrame } from "../protocol/frame.ts";
import { MAX_FRAME_BYTES } from "../protocol/limits.ts";
import type { Message } from "../protocol/messages.ts";
import { EdgeProcess } from "./_helpers/edge_process.ts";
import { HELLO, RawClient } from "./_helpers/raw_client.ts";
import { ServerProcess } from "./_helpers/server_process.ts";
import { within } from "./_helpers/wait.ts";

/** A figure of `/proc/<pid>/status`, in bytes: `VmRSS` now, `VmHWM` its peak. */
function memoryOf(pid: number, field: "VmRSS" | "VmHWM"): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
}

/**
 * The server's peak RSS once it has taken in what was sent: sampled until it has not
 * grown for half a second (the server reads what the kernel holds at its own pace).
 */
async function settledPeak(pid: number): Promise<number> {
  let peak = memoryOf(pid, "VmHWM");
  let still = 0;
  for (let waited = 0; still < 500 && waited < 10_000; waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
    const now = memoryOf(pid, "VmHWM");
    still = now > peak ? 0 : still + 100;
    peak = now;
  }
  return peak;
}

function logoutOf(messages: Message[]): { reason: string; message: string } | undefined {
  for (const m of messages) if (m.t === "push" && m.event === "logout") return m;
  return undefined;
}

/** Writes `bytes`, ignoring a server that has already closed the connection. */
async function writeWhileOpen(client: RawClient, bytes: Uint8Array): Promise<void> {
  await client.write(bytes).catch(() => {});
}

Deno.test("before login a frame over 4 KiB is refused at its header and the connection closed", async () => {
  await using server = await ServerProcess.start();
  using raw = await RawClient.connect(server.port);
  await raw.write(new Uint8Array([0, 0, 0x14, 0, 0x01])); // a 5,120-byte message frame
  const messages = await within(raw.drainUntilClosed(), "the server to close", 5_000);
  assert.match(
    logoutOf(messages)?.message ?? "",
    /protocol error: frame of 5120 bytes is over the 4096-byte limit before login/,
  );
  // A logged-in device may send big frames (a long message is up to 24 KiB of JSON).
  using device = await RawClient.connect(server.port, "watch1");
  const text = "\u0001".repeat(4000);
  const res = await device.request({ op: "message", to: "watch2", text });
  assert.ok(res.t === "res" && res.ok, JSON.stringify(res));
});

Deno.test("1,000 connections sending most of a 1 MiB frame before login, then 1,000 holding most of a 4 KiB one, add under 100 MB to the server", async () => {
  await using server = await ServerProcess.start({
    args: ["--max-pending-logins-per-address", "2000", "--max-pending-logins", "2000"],
  });
  await using edge = await EdgeProcess.start(server, { login: "watch1" });
  const before = memoryOf(server.pid, "VmRSS");
  const big = new Uint8Array(MAX_FRAME_BYTES - 1024);
  new DataView(big.buffer).setUint32(0, MAX_FRAME_BYTES);
  big[4] = 0x01;
  const refused: RawClient[] = [];
  for (let i = 0; i < 1000; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: 50 }, () => RawClient.connect(server.port)),
    );
    await Promise.all(batch.map((c) => writeWhileOpen(c, big)));
    refused.push(...batch);
  }
  const afterBig = await settledPeak(server.pid) - before;
  for (const c of refused) c[Symbol.dispose]();
  assert.ok(afterBig < 100 * 2 ** 20, `server RSS grew by ${(afterBig / 2 ** 20).toFixed(1)} MiB`);

  const small = new Uint8Array(4000);
  new DataView(small.buffer).setUint32(0, 4096);
  small[4] = 0x01;
  const held: RawClient[] = [];
  try {
    for (let i = 0; i < 1000; i += 100) {
      const batch = await Promise.all(
        Array.from({ length: 100 }, () => RawClient.connect(server.port)),
      );
      await Promise.all(batch.map((c) => c.write(small)));
      held.push(...batch);
    }
    const growth = await settledPeak(server.pid) - before;
    assert.ok(growth < 100 * 2 ** 20, `server RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB`);
    assert.equal((await edge.command("AED")).ok, true);
  } finally {
    for (const c of held) c[Symbol.dispose]();
  }
});

Deno.test("a connection that sends other requests before logging in is told, and closed after 3", async () => {
  await using server = await ServerProcess.start();
  using raw = await RawClient.connect(server.port);
  await raw.request(HELLO);
  for (let i = 0; i < 50; i++) {
    await writeWhileOpen(raw, encodeMessage({ t: "req", id: 100 + i, op: "devices" }));
  }
  const messages = await within(raw.drainUntilClosed(), "the server to close", 5_000);
  const refusals = messages.filter((m) => m.t === "res" && !m.ok && m.error === "not_logged_in");
  assert.equal(refusals.length, 3, JSON.stringify(messages));
  assert.match(
    logoutOf(messages)?.message ?? "",
    /3 requests were refused before login; say hello and log in first/,
  );
  await server.waitForLog(/connection from 127\.0\.0\.1 ended before login/);
  const about = server.log.filter((l) =>
    !l.startsWith("listening on ") && !l.startsWith("start-up check: ")
  );
  assert.ok(about.length <= 5, about.join("\n"));
});

Deno.test("a data frame before login is a protocol error that closes the connection", async () => {
  await using server = await ServerProcess.start();
  using raw = await RawClient.connect(server.port);
  await raw.request(HELLO);
  await raw.write(encodeDataFrame(7, new TextEncoder().encode("1\n2\n")));
  const messages = await within(raw.drainUntilClosed(), "the server to close", 5_000);
  assert.match(
    logoutOf(messages)?.message ?? "",
    /protocol error: a data frame \(stream 7\) before login/,
  );
});

Deno.test("connections waiting to log in from one address are capped by --max-pending-logins-per-address", async () => {
  await using server = await ServerProcess.start({
    args: ["--max-pending-logins-per-address", "2"],
  });
  using loggedIn = await RawClient.connect(server.port, "watch1"); // does not count
  using first = await RawClient.connect(server.port);
  using second = await RawClient.connect(server.port);
  using third = await RawClient.connect(server.port);
  const messages = await within(third.drainUntilClosed(), "the third to be refused", 5_000);
  const logout = logoutOf(messages);
  assert.equal(logout?.reason, "busy");
  assert.match(
    logout?.message ?? "",
    /2 connections from 127\.0\.0\.1 are already waiting to log in/,
  );
  first[Symbol.dispose]();
  await server.waitForLog(/ended before login/);
  using fourth = await RawClient.connect(server.port);
  const hello = await within(fourth.request(HELLO), "hello on a freed slot", 5_000);
  assert.ok(hello.t === "res" && hello.ok);
  second[Symbol.dispose]();
  loggedIn[Symbol.dispose]();
});

Deno.test("between login and udp_port, requests out of turn count too: the third closes the connection and frees the name", async () => {
  await using server = await ServerProcess.start();
  using raw = await RawClient.connect(server.port);
  await raw.request(HELLO);
  const login = await raw.request({ op: "login", name: "watch1", password: "pw1" });
  assert.ok(login.t === "res" && login.ok, JSON.stringify(login));
  for (let i = 0; i < 20; i++) {
    await writeWhileOpen(raw, encodeMessage({ t: "req", id: 100 + i, op: "devices" }));
  }
  const messages = await within(raw.drainUntilClosed(), "the server to close", 5_000);
  const refusals = messages.filter((m) => m.t === "res" && !m.ok && m.error === "not_logged_in");
  assert.equal(refusals.length, 3, JSON.stringify(messages));
  assert.ok(logoutOf(messages), JSON.stringify(messages));
  using again = await within(RawClient.connect(server.port, "watch1"), "a new login", 5_000);
  const res = await again.request({ op: "devices" });
  assert.ok(res.t === "res" && res.ok);
});
