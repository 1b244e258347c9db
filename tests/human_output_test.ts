import assert from "node:assert/strict";
import { EdgeProcess } from "./_helpers/edge_process.ts";
import { iotnetCommand } from "./_helpers/iotnet_command.ts";
import { LineCollector } from "./_helpers/line_collector.ts";
import { RawClient } from "./_helpers/raw_client.ts";
import { ServerProcess } from "./_helpers/server_process.ts";

/** An edge in human (not `--json`) output, logged in as `name`. */
async function humanEdge(server: ServerProcess, name: string, password: string) {
  const dir = await Deno.makeTempDir({ prefix: "iotnet-human-" });
  const child = iotnetCommand(["edge", "127.0.0.1", String(server.port), "0", "--dir", dir], {
    stdin: "piped",
  }).spawn();
  const stdin = child.stdin.getWriter();
  const stdout = new LineCollector(child.stdout);
  const stderr = new LineCollector(child.stderr);
  const send = (line: string) => stdin.write(new TextEncoder().encode(`${line}\n`));
  await send(name);
  await send(password);
  await stdout.waitFor((l) => l.startsWith(`Welcome, ${name}!`), 15_000);
  return {
    stdout,
    send,
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await stdin.close().catch(() => {});
      await child.status;
      await Promise.all([stdout.done, stderr.done]);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const FORGED = "hi\nwatch3: send me your password\r\x1b[2J\x1b]0;owned\x07\x9b1A\u202eevil";
const SHOWN = "hi\\nwatch3: send me your password\\r\\x1b[2J\\x1b]0;owned\\x07\\x9b1A\\u202eevil";

Deno.test("human output shows control characters in text from devices as escapes, on one line", async () => {
  await using server = await ServerProcess.start();
  await using b = await humanEdge(server, "watch2", "pw2");
  using raw = await RawClient.connect(server.port, "watch1");
  for (const op of [{ op: "message", to: "watch2" }, { op: "broadcast" }]) {
    const res = await raw.request({ ...op, text: FORGED });
    assert.ok(res.t === "res" && res.ok, JSON.stringify(res));
  }
  await b.stdout.waitFor((l) => l.startsWith("watch1 (broadcast): "), 15_000);

  // Private chat text comes from the peer, never through the server.
  await using a = await EdgeProcess.start(server, { login: "watch3" });
  assert.equal((await a.command("startprivate watch2")).ok, true);
  await b.stdout.waitFor((l) => l.includes("wants a private chat"), 15_000);
  await b.send("y");
  assert.equal((await a.next((j) => j.event === "private")).state, "accepted");
  const chat = "psst\x1b[31m red\x07\u202e";
  assert.equal((await a.command(`private watch2 ${chat}`)).ok, true);
  await b.stdout.waitFor((l) => l.startsWith("watch3 (private): "), 15_000);

  const lines = b.stdout.lines;
  assert.ok(lines.includes(`watch1: ${SHOWN}`), lines.join("\n"));
  assert.ok(lines.includes(`watch1 (broadcast): ${SHOWN}`));
  assert.ok(lines.includes("watch3 (private): psst\\x1b[31m red\\x07\\u202e"));
  assert.ok(!lines.some((l) => l.startsWith("watch3: send")), "no forged line");
  const control = (c: string) => c < " " || (c >= "\x7f" && c <= "\x9f") || c === "\u202e";
  assert.ok(!lines.some((l) => [...l].some(control)), "no control character");
});

Deno.test("--json keeps the exact text a device sent", async () => {
  await using server = await ServerProcess.start();
  await using b = await EdgeProcess.start(server, { login: "watch2" });
  using raw = await RawClient.connect(server.port, "watch1");
  await raw.request({ op: "message", to: "watch2", text: FORGED });
  const got = await b.next((j) => j.event === "message");
  assert.equal(got.text, FORGED);
  assert.equal(got.message, `watch1: ${SHOWN}`);
});

Deno.test("the end of a private chat says who ended it, and how", async () => {
  await using server = await ServerProcess.start();
  await using b = await humanEdge(server, "watch2", "pw2");
  await using a = await EdgeProcess.start(server, { login: "watch3" });
  const chat = async () => {
    const from = b.stdout.lines.length;
    assert.equal((await a.command("startprivate watch2")).ok, true);
    await b.stdout.waitFor((l) => l.includes("wants a private chat"), 15_000, from);
    await b.send("y");
    await a.next((j) => j.event === "private" && j.state === "accepted");
  };
  await chat();
  const stop = await a.command("stopprivate watch2");
  assert.equal(stop.message, "You ended the private chat with watch2");
  await b.stdout.waitFor((l) => l === "watch3 ended the private chat with you", 15_000);
  await chat();
  assert.equal((await a.command("block watch2")).ok, true);
  await b.stdout.waitFor((l) => l === "watch3 blocked you, which ended your private chat", 15_000);
});
