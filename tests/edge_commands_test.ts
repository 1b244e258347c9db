import assert from "node:assert/strict";
import { ChatRequests } from "../client/chat_requests.ts";
import { parseCommand } from "../client/command_parser.ts";
import type { CommandEnv } from "../client/commands/command.ts";
import { COMMANDS, helpText } from "../client/commands/mod.ts";
import { EdgeConnection } from "../client/connection.ts";
import { PeerLink } from "../client/peer.ts";
import { noProgress } from "../client/progress.ts";
import { runCommand } from "../client/run_command.ts";
import type { Message, Request } from "../protocol/messages.ts";
import { ok, ScriptedServer } from "./_helpers/scripted_server.ts";

/** A logged-in edge's command environment over a scripted server, disposed of after. */
async function edgeOver(script: (request: Request) => Message[]) {
  const server = new ScriptedServer(script);
  const connection = await EdgeConnection.open(server.stream, {
    localHostname: "127.0.0.1",
    server: "test",
  });
  const dir = await Deno.makeTempDir({ prefix: "iotnet-commands-" });
  const peer = await PeerLink.open("127.0.0.1", 0, dir);
  const env: CommandEnv = {
    connection,
    device: "watch1",
    dir,
    peer,
    chatRequests: new ChatRequests(),
    progress: () => noProgress,
  };
  return {
    env,
    server,
    async run(line: string) {
      const parsed = parseCommand(line);
      assert.ok(parsed.ok, line);
      return await runCommand(env, parsed.command);
    },
    async [Symbol.asyncDispose]() {
      connection.close();
      await peer.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("a success is cmd, ok and message, then the command's fields in order", async () => {
  await using edge = await edgeOver((r) => [ok(r, { op: "AVERAGE", result: "8.25" })]);
  const result = await edge.run("scs 5 average");
  assert.equal(
    JSON.stringify(result),
    '{"cmd":"SCS","ok":true,"message":"AVERAGE of file 5 is 8.25","fileID":5,"op":"AVERAGE","result":"8.25"}',
  );
  assert.deepEqual(edge.server.requests.at(-1), {
    t: "req",
    id: 2,
    op: "compute",
    fileID: 5,
    operation: "AVERAGE",
  });
});

Deno.test("fields a server adds to a result do not reach the output", async () => {
  await using edge = await edgeOver((r) => [ok(r, { devices: ["watch2"], extra: "\x1b[2J" })]);
  assert.equal(
    JSON.stringify(await edge.run("whoelse")),
    '{"cmd":"WHOELSE","ok":true,"message":"watch2","devices":["watch2"]}',
  );
});

Deno.test("a refusal keeps the code of its class; a local failure gets its own", async () => {
  await using edge = await edgeOver((r) => [
    { t: "res", id: r.id, ok: false, error: "not_found", message: "file 7 is not there" },
  ]);
  assert.equal(
    JSON.stringify(await edge.run("DTE 7")),
    '{"cmd":"DTE","ok":false,"error":"not_found","message":"file 7 is not there"}',
  );
  const missing = await edge.run("UED 99");
  assert.deepEqual(missing, {
    cmd: "UED",
    ok: false,
    error: "not_found",
    message:
      `${edge.env.dir}/watch1-99.txt does not exist; generate it first with EDG 99 <dataAmount>`,
  });
  const chat = await edge.run("private watch2 hi");
  assert.deepEqual([chat.ok, chat.ok ? "" : chat.error], [false, "io"]);
});

Deno.test("block cancels the blocked device's waiting chat request; --json shows only the device", async () => {
  await using edge = await edgeOver((r) => [ok(r, { device: "watch2" })]);
  edge.env.chatRequests.add("watch2");
  const blocked = await edge.run("block watch2");
  assert.equal(
    JSON.stringify(blocked),
    '{"cmd":"BLOCK","ok":true,"message":"watch2 is blocked; its private chat request was cancelled","device":"watch2"}',
  );
  assert.equal(edge.env.chatRequests.size, 0);
  assert.equal((await edge.run("block watch2")).message, "watch2 is blocked");
});

Deno.test("an answer to no waiting request fails as not_found and names the device", async () => {
  await using edge = await edgeOver((r) => [ok(r, { device: "watch3", accept: true })]);
  edge.env.chatRequests.add("watch2");
  assert.equal(
    JSON.stringify(await runCommand(edge.env, { cmd: "ANSWER", device: "watch3", accept: true })),
    '{"cmd":"ANSWER","ok":false,"error":"not_found","message":"no private chat request from watch3 is waiting; answer one of: watch2","device":"watch3"}',
  );
  assert.equal(edge.server.requests.length, 1, "only the hello reached the server");
});

Deno.test("OUT says goodbye by name and shows no fields in --json", async () => {
  await using edge = await edgeOver((r) => [ok(r)]);
  assert.equal(
    JSON.stringify(await edge.run("logout")),
    '{"cmd":"OUT","ok":true,"message":"Bye, watch1!"}',
  );
});

Deno.test("the command list is the table's entries in order, with the old layout", () => {
  assert.equal(
    helpText(),
    [
      "Commands:",
      "  EDG fileID dataAmount   generate dataAmount random integers into <name>-<fileID>.txt",
      "  UED fileID              upload <name>-<fileID>.txt to the server (Ctrl-C cancels)",
      "  SCS fileID OP           compute OP (SUM, AVERAGE, MAX, MIN) over an uploaded file",
      "  DTE fileID              delete an uploaded file from the server",
      "  AED                     list the other active edge devices",
      "  UVF device filename     send a file to another active device, peer to peer",
      "  OUT                     log out (also: logout, exit, quit)",
      "  message device text     send text to a device (stored if it is offline)",
      "  broadcast text          send text to every online device",
      "  whoelse                 list the other online devices",
      "  whoelsesince seconds    list devices online at any time in the last seconds",
      "  block [device]          stop a device from messaging or seeing you; alone: list whom you block",
      "  unblock device          lift a block",
      "  startprivate device     ask a device for a private (peer-to-peer) chat",
      "  private device text     send text over an accepted private chat",
      "  stopprivate device      end a private chat",
      "  help [command]          show this list, or how to use one command",
    ].join("\n"),
  );
  // Every word and alias parses to its own entry, and synopses start with the word.
  for (const spec of COMMANDS) {
    for (const word of [spec.word, ...(spec.aliases ?? [])]) {
      const parsed = parseCommand(`${word.toLowerCase()} x y z`);
      assert.equal(parsed.ok ? parsed.command.cmd : parsed.cmd, spec.word, word);
    }
    assert.equal(spec.synopsis.split(" ")[0]!.toUpperCase(), spec.word);
  }
});
