import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeMessage } from "../protocol/codec.ts";
import { PROTOCOL_VERSION } from "../protocol/limits.ts";
import { EdgeProcess } from "./_helpers/edge_process.ts";
import { RawClient } from "./_helpers/raw_client.ts";
import { ServerProcess } from "./_helpers/server_process.ts";
import { listDir, waitUntil } from "./_helpers/wait.ts";

async function uploadLogLines(server: ServerProcess): Promise<string[]> {
  try {
    return (await server.read("upload-log.txt")).split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

Deno.test("an edge killed mid-upload leaves no file, no temp file and no log line", async () => {
  await using server = await ServerProcess.start();
  await using edge = await EdgeProcess.start(server, { login: "watch1" });
  assert.equal((await edge.command("EDG 4 5000000", 60_000)).ok, true);
  await edge.send("UED 4");
  const uploads = join(server.dataDir, "uploads");
  await waitUntil(
    async () => (await listDir(uploads)).some((n) => n.endsWith(".part")),
    "the upload to start",
    20_000,
    2,
  );
  edge.kill("SIGKILL");
  await edge.exited();
  await server.waitForLog(/watch1 left/);
  await waitUntil(async () => (await listDir(uploads)).length === 0, "the temp file to go");
  assert.deepEqual(await uploadLogLines(server), []);
  // The server serves on, and the name is free again.
  await using again = await EdgeProcess.start(server, { login: "watch1" });
  assert.equal((await again.command("SCS 4 SUM")).error, "not_found");
});

Deno.test("a connection that closes mid-upload leaves nothing behind and others are served", async () => {
  await using server = await ServerProcess.start();
  await using bystander = await EdgeProcess.start(server, { login: "watch2" });
  {
    using raw = await RawClient.connect(server.port, "watch1");
    const id = await raw.send({ op: "upload", fileID: 1, bytes: 1000 });
    await raw.sendData(id, new TextEncoder().encode("1\n2\n3\n"));
  }
  await server.waitForLog(/watch1 left/);
  assert.deepEqual(await listDir(join(server.dataDir, "uploads")), []);
  assert.deepEqual(await uploadLogLines(server), []);
  assert.equal((await bystander.command("AED")).ok, true);
});

Deno.test("an upload that sends more than it declared is refused and stored nowhere", async () => {
  await using server = await ServerProcess.start();
  using raw = await RawClient.connect(server.port, "watch1");
  const id = await raw.send({ op: "upload", fileID: 2, bytes: 2 });
  await raw.sendData(id, new TextEncoder().encode("1\n2\n"));
  const res = await raw.receive((m) => m.t === "res" && m.id === id);
  assert.ok(res.t === "res" && !res.ok && res.error === "bad_args", JSON.stringify(res));
  assert.deepEqual(await listDir(join(server.dataDir, "uploads")), []);
});

Deno.test("an oversized frame closes that connection alone, with a reason", async () => {
  await using server = await ServerProcess.start();
  await using bystander = await EdgeProcess.start(server, { login: "watch2" });
  using raw = await RawClient.connect(server.port, "watch1");
  await raw.write(new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0x01]));
  const messages = await raw.drainUntilClosed();
  const push = messages.find((m) => m.t === "push" && m.event === "logout");
  assert.ok(push && push.t === "push" && push.event === "logout");
  assert.match(
    push.message,
    /protocol error: frame of 2147483647 bytes is over the 1048576-byte limit/,
  );
  await server.waitForLog(/watch1 left \(sent a bad frame/);
  assert.equal((await bystander.command("AED")).ok, true);
});

Deno.test("a request in the same segment as a bad frame is still served before the close", async () => {
  await using server = await ServerProcess.start();
  await using bystander = await EdgeProcess.start(server, { login: "watch2" });
  using raw = await RawClient.connect(server.port, "watch1");
  const request = encodeMessage({
    t: "req",
    id: 99,
    op: "message",
    to: "watch2",
    text: "sent just before garbage",
  });
  const garbage = new Uint8Array([0, 0, 0, 1, 0x09]);
  const segment = new Uint8Array(request.length + garbage.length);
  segment.set(request);
  segment.set(garbage, request.length);
  await raw.write(segment);
  const got = await bystander.next((j) => j.event === "message");
  assert.deepEqual([got.from, got.text], ["watch1", "sent just before garbage"]);
  const messages = await raw.drainUntilClosed();
  assert.ok(
    messages.some((m) =>
      m.t === "push" && m.event === "logout" && /unknown frame kind 0x09/.test(m.message)
    ),
  );
});

Deno.test("requests before login are refused and a wrong protocol version is turned away", async () => {
  await using server = await ServerProcess.start();
  using early = await RawClient.connect(server.port);
  const res = await early.request({ op: "devices" });
  assert.ok(res.t === "res" && !res.ok && res.error === "not_logged_in");
  using old = await RawClient.connect(server.port);
  const hello = await old.request({ op: "hello", protocol: "iotnet", version: 99 });
  assert.ok(hello.t === "res" && !hello.ok && hello.error === "unsupported_version");
  assert.match(
    hello.message,
    new RegExp(`speaks iotnet version ${PROTOCOL_VERSION}, not iotnet version 99`),
  );
  // Closed right after the reply, not at the login deadline.
  await server.waitForLog(/spoke an unsupported protocol version/, 10_000);
  await old.drainUntilClosed();
});

Deno.test("a connection that never logs in is closed at the login deadline", async () => {
  await using server = await ServerProcess.start({ args: ["--login-timeout", "1"] });
  using idle = await RawClient.connect(server.port);
  const messages = await idle.drainUntilClosed();
  assert.ok(
    messages.some((m) => m.t === "push" && m.event === "logout" && m.reason === "login_timeout"),
  );
  await server.waitForLog(/ended before login \(no login within 1 s\)/);
});
