import assert from "node:assert/strict";
import { join } from "node:path";
import { EdgeProcess } from "./_helpers/edge_process.ts";
import { iotnetCommand, runIotnet } from "./_helpers/iotnet_command.ts";
import { RawClient } from "./_helpers/raw_client.ts";
import { ServerProcess } from "./_helpers/server_process.ts";
import { listDir } from "./_helpers/wait.ts";
import {
  CONCURRENT_UPLOADS,
  MAX_OFFLINE_MESSAGES,
  MAX_OFFLINE_MESSAGES_PER_SENDER,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
} from "../protocol/limits.ts";

function rssOf(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

Deno.test("connections past --max-pending-logins are refused with a message, and a slot frees up", async () => {
  await using server = await ServerProcess.start({ args: ["--max-pending-logins", "3"] });
  const waiting = await Promise.all([1, 2, 3].map(() => RawClient.connect(server.port)));
  const { code, stdout } = await runIotnet(
    ["edge", "127.0.0.1", String(server.port), "0", "--json"],
    "watch1\npw1\n",
  );
  assert.equal(code, 1);
  const event = JSON.parse(stdout.trim().split("\n")[0]!);
  assert.equal(event.error, "offline");
  assert.match(
    event.message,
    /refused the connection: the server is busy \(3 connections are already waiting to log in\)/,
  );
  await server.waitForLog(/refused a connection from 127\.0\.0\.1/);
  waiting[0]![Symbol.dispose]();
  await server.waitForLog(/ended before login/);
  await using edge = await EdgeProcess.start(server, { login: "watch1" });
  assert.equal((await edge.command("AED")).ok, true);
  for (const w of waiting.slice(1)) w[Symbol.dispose]();
});

Deno.test("100 connections declaring 2 GiB frames are refused at once; server memory stays flat", async () => {
  await using server = await ServerProcess.start();
  await using edge = await EdgeProcess.start(server, { login: "watch1" });
  const before = rssOf(server.pid);
  const clients = await Promise.all(
    Array.from({ length: 100 }, () => RawClient.connect(server.port)),
  );
  await Promise.all(clients.map((c) => c.write(new Uint8Array([0x80, 0, 0, 0, 0x02]))));
  const results = await Promise.all(clients.map((c) => c.drainUntilClosed()));
  for (const messages of results) {
    assert.ok(
      messages.some((m) => m.t === "push" && m.event === "logout" && m.reason === "protocol"),
    );
  }
  const growth = rssOf(server.pid) - before;
  assert.ok(growth < 25 * 1024 * 1024, `server RSS grew by ${growth} bytes`);
  assert.equal((await edge.command("AED")).ok, true);
  for (const c of clients) c[Symbol.dispose]();
});

Deno.test("path traversal and control characters in names never leave their folder", async () => {
  await using server = await ServerProcess.start({ args: ["--allow-registration"] });
  // As a login name: refused before it can name a file.
  for (const name of ["../evil", "a/b", "x\u0007y", "..", ""]) {
    using raw = await RawClient.connect(server.port);
    await raw.request({ op: "hello", protocol: PROTOCOL_NAME, version: PROTOCOL_VERSION });
    const res = await raw.request({ op: "login", name, password: "pw" });
    assert.ok(res.t === "res" && !res.ok, JSON.stringify(name));
  }
  await using edge = await EdgeProcess.start(server, { login: "watch1" });
  for (
    const line of [
      "message ../x hi",
      "block ../../etc",
      "startprivate a/b",
      "UVF ../x f",
      "unblock \u001b[31m",
    ]
  ) {
    const result = await edge.command(line);
    assert.equal(result.ok, false, line);
  }
  using raw = await RawClient.connect(server.port, "watch2");
  for (const fileID of [-1, 2 ** 31]) {
    const res = await raw.request({ op: "upload", fileID, bytes: 2 });
    assert.ok(res.t === "res" && !res.ok && res.error === "bad_args", String(fileID));
  }
  const res = await raw.request({ op: "message", to: "../../x", text: "hi" });
  assert.ok(res.t === "res" && !res.ok && res.error === "bad_args");
  // A fileID that is not an integer breaks the message schema: the connection is closed.
  await raw.send({ op: "upload", fileID: 1.5, bytes: 2 });
  const closing = await raw.drainUntilClosed();
  assert.ok(closing.some((m) => m.t === "push" && m.event === "logout" && m.reason === "protocol"));
  assert.deepEqual(await listDir(join(server.dataDir, "uploads")), []);
  const top = await listDir(server.dataDir);
  assert.ok(top.every((n) => !n.includes("evil")), top.join(","));
});

Deno.test("a device that stops reading is dropped past its queue cap; the server still shuts down at once", async () => {
  await using server = await ServerProcess.start();
  const stalled = await RawClient.connect(server.port, "watch1"); // never reads again
  using sender = await RawClient.connect(server.port, "watch2");
  const text = "x".repeat(4000);
  for (let i = 0; i < 4000; i++) {
    await sender.send({ op: "broadcast", text });
    if (server.stdout.lines.some((l) => l.includes("watch1 left"))) break;
  }
  await server.waitForLog(/watch1 left \(stopped reading \(over 8388608 bytes queued\)\)/, 20_000);
  const start = performance.now();
  const status = await server.stop("SIGTERM");
  assert.equal(status.code, 0);
  assert.ok(performance.now() - start < 5_000, "shutdown waited on a peer that does not read");
  stalled[Symbol.dispose]();
});

Deno.test("a server whose stdout nobody reads keeps serving", async () => {
  const dataDir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dataDir, "credentials.txt"), "watch1 pw1\n");
  const child = iotnetCommand(["server", "0", "3", "--data-dir", dataDir], {
    env: { IOTNET_HASH_PROFILE: "fast" },
  }).spawn();
  // Read the first line only; from then on the pipe fills up and is never read.
  const reader = child.stdout.getReader();
  let first = "";
  while (!first.includes("\n")) first += new TextDecoder().decode((await reader.read()).value);
  const port = Number(/listening on .*:(\d+)/.exec(first)?.[1]);
  try {
    using raw = await RawClient.connect(port, "watch1");
    const id = await raw.send({ op: "upload", fileID: 1, bytes: 2 });
    await raw.sendData(id, new TextEncoder().encode("7\n"));
    await raw.receive((m) => m.t === "res" && m.id === id);
    // Each SCS logs a line of ~45 bytes: 3,000 of them are far more than a pipe holds.
    for (let i = 0; i < 3000; i++) {
      const res = await raw.request({ op: "compute", fileID: 1, operation: "SUM" });
      assert.ok(res.t === "res" && res.ok, `SCS ${i}`);
    }
  } finally {
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel();
    await child.stderr.cancel();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("one sender fills only its share of an offline mailbox and is told so; the mailbox holds 1,000 from ten", async () => {
  await using server = await ServerProcess.start();
  /** Sends `count` messages to watch3 at once; returns their replies. */
  const flood = async (raw: RawClient, count: number, tag: string) => {
    const ids: number[] = [];
    for (let i = 0; i < count; i++) {
      ids.push(await raw.send({ op: "message", to: "watch3", text: `${tag} ${i}` }));
    }
    const replies = [];
    for (const id of ids) replies.push(await raw.receive((m) => m.t === "res" && m.id === id));
    return replies;
  };
  const isStored = (m: Awaited<ReturnType<RawClient["receive"]>>) =>
    m.t === "res" && m.ok && m.delivery === "stored";

  using hog = await RawClient.connect(server.port, "watch1");
  const hogged = await flood(hog, MAX_OFFLINE_MESSAGES_PER_SENDER + 50, "hog");
  assert.equal(hogged.filter(isStored).length, MAX_OFFLINE_MESSAGES_PER_SENDER);
  const refused = hogged.at(-1)!;
  assert.ok(refused.t === "res" && !refused.ok && refused.error === "busy");
  assert.match(
    refused.message,
    /watch3 is offline and you already have the most messages waiting for it that one sender may leave \(100 or 131072 bytes\)/,
  );
  // Someone else still gets through.
  using other = await RawClient.connect(server.port, "watch2");
  assert.ok(isStored(await other.request({ op: "message", to: "watch3", text: "me too" })));

  // The mailbox as a whole: ten senders' shares fill it; then nobody gets in.
  const senders = await Promise.all(
    Array.from({ length: 9 }, (_, i) => RawClient.connect(server.port, `dev${i}`)),
  );
  try {
    await flood(other, MAX_OFFLINE_MESSAGES_PER_SENDER - 1, "other");
    for (const [i, raw] of senders.entries()) {
      const replies = await flood(raw, MAX_OFFLINE_MESSAGES_PER_SENDER, `dev${i}`);
      const wanted = i < 8 ? MAX_OFFLINE_MESSAGES_PER_SENDER : 0;
      assert.equal(replies.filter(isStored).length, wanted, `dev${i}`);
    }
    const full = await senders.at(-1)!.request({ op: "message", to: "watch3", text: "late" });
    assert.ok(full.t === "res" && !full.ok && full.error === "busy");
    assert.match(full.message, /watch3 is offline and already has the most messages waiting/);
  } finally {
    for (const raw of senders) raw[Symbol.dispose]();
  }
  // 1,000 stored in all, and watch3 gets them all at its login.
  using watch3 = await RawClient.connect(server.port, "watch3");
  let delivered = 0;
  while (delivered < MAX_OFFLINE_MESSAGES) {
    await watch3.receive((m) => m.t === "push" && m.event === "message");
    delivered++;
  }
});

Deno.test("500 connections trickling a frame are closed at the frame deadline while a device's SCS stays fast", async () => {
  // All from one address: the per-address cap must let them in for this test.
  await using server = await ServerProcess.start({
    args: ["--frame-timeout", "2", "--max-pending-logins-per-address", "1024"],
  });
  using device = await RawClient.connect(server.port, "watch1");
  const id = await device.send({ op: "upload", fileID: 1, bytes: 2 });
  await device.sendData(id, new TextEncoder().encode("5\n"));
  await device.receive((m) => m.t === "res" && m.id === id);
  const tricklers: RawClient[] = [];
  for (let i = 0; i < 500; i += 100) {
    tricklers.push(
      ...await Promise.all(Array.from({ length: 100 }, () => RawClient.connect(server.port))),
    );
  }
  // Each starts a 100-byte frame and then sends one byte every 300 ms.
  await Promise.all(tricklers.map((t) => t.write(new Uint8Array([0, 0, 0, 100, 0x01]))));
  const trickle = setInterval(() => {
    for (const t of tricklers) void t.write(new Uint8Array([0x20])).catch(() => {});
  }, 300);
  const latencies: number[] = [];
  try {
    const closed = Promise.all(tricklers.map((t) => t.drainUntilClosed()));
    let done = false;
    void closed.then(() => (done = true));
    while (!done) {
      const start = performance.now();
      const res = await device.request({ op: "compute", fileID: 1, operation: "SUM" });
      latencies.push(performance.now() - start);
      assert.ok(res.t === "res" && res.ok);
    }
    for (const messages of await closed) {
      assert.ok(
        messages.some((m) => m.t === "push" && m.event === "logout" && m.reason === "protocol"),
      );
    }
  } finally {
    clearInterval(trickle);
    for (const t of tricklers) t[Symbol.dispose]();
  }
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.ceil(latencies.length * 0.99) - 1]!;
  assert.ok(latencies.length > 20, `only ${latencies.length} SCS requests ran`);
  assert.ok(p99 < 200, `SCS p99 ${p99.toFixed(1)} ms while 500 connections trickled`);
});

Deno.test("10,000 connections opened and dropped leave the server serving, with its descriptors back", async () => {
  await using server = await ServerProcess.start();
  const fds = () => [...Deno.readDirSync(`/proc/${server.pid}/fd`)].length;
  using device = await RawClient.connect(server.port, "watch1");
  const before = fds();
  for (let i = 0; i < 10_000; i += 200) {
    const batch = await Promise.all(
      Array.from({ length: 200 }, () => Deno.connect({ hostname: "127.0.0.1", port: server.port })),
    );
    for (const conn of batch) conn.close();
  }
  const res = await device.request({ op: "devices" });
  assert.ok(res.t === "res" && res.ok);
  const deadline = Date.now() + 10_000;
  while (fds() > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(fds() <= before, `${fds()} descriptors open, ${before} before the 10,000 connections`);
});

Deno.test("with 1,000 idle unauthenticated connections a login completes within 1 s", async () => {
  // All from one address: the per-address cap must let them in for this test.
  await using server = await ServerProcess.start({
    args: ["--max-pending-logins-per-address", "1024"],
  });
  const idle: RawClient[] = [];
  for (let i = 0; i < 1000; i += 100) {
    idle.push(
      ...await Promise.all(Array.from({ length: 100 }, () => RawClient.connect(server.port))),
    );
  }
  try {
    const start = performance.now();
    using device = await RawClient.connect(server.port, "watch1");
    const ms = performance.now() - start;
    assert.ok(ms < 1000, `connect, hello, login and udp_port took ${ms.toFixed(0)} ms`);
    const res = await device.request({ op: "devices" });
    assert.ok(res.t === "res" && res.ok);
  } finally {
    for (const c of idle) c[Symbol.dispose]();
  }
});

Deno.test("an upload over --max-upload-mb is refused before any data is stored", async () => {
  await using server = await ServerProcess.start({ args: ["--max-upload-mb", "1"] });
  using raw = await RawClient.connect(server.port, "watch1");
  const res = await raw.request({ op: "upload", fileID: 1, bytes: 1024 * 1024 + 1 });
  assert.ok(res.t === "res" && !res.ok && res.error === "too_large", JSON.stringify(res));
  assert.match(res.message, /over the server's 1048576-byte limit/);
  assert.deepEqual(await listDir(join(server.dataDir, "uploads")), []);
  const ok = await raw.request({ op: "upload", fileID: 1, bytes: 0 });
  assert.ok(ok.t === "res" && !ok.ok && ok.error === "invalid_data"); // empty, but within the limit
});

Deno.test("uploads whose senders stall cannot keep other devices' uploads waiting for a turn", async () => {
  await using server = await ServerProcess.start();
  // More stalled uploads than there are turns (CONCURRENT_UPLOADS): each sends one
  // whole DATA frame of a declared megabyte, so no frame deadline ends it, then nothing.
  const stalled = await Promise.all(
    Array.from(
      { length: CONCURRENT_UPLOADS + 8 },
      (_, i) => RawClient.connect(server.port, `dev${i}`),
    ),
  );
  try {
    for (const raw of stalled) {
      const id = await raw.send({ op: "upload", fileID: 1, bytes: 1024 * 1024 });
      await raw.sendData(id, new TextEncoder().encode("1\n2\n3\n"));
    }
    await using edge = await EdgeProcess.start(server, { login: "watch1" });
    assert.equal((await edge.command("EDG 1 1000")).ok, true);
    const upload = await edge.command("UED 1", 20_000);
    assert.equal(upload.ok, true, JSON.stringify(upload));
    assert.equal((await edge.command("SCS 1 MAX")).ok, true);
  } finally {
    for (const raw of stalled) raw[Symbol.dispose]();
  }
});
