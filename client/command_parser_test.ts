import assert from "node:assert/strict";
import { parseCommand } from "./command_parser.ts";
import { commandNamed } from "./commands/mod.ts";

Deno.test("command words are case-insensitive and extra spaces between arguments are fine", () => {
  assert.deepEqual(parseCommand("  edg   3  10 "), {
    ok: true,
    command: { cmd: "EDG", fileID: 3, dataAmount: 10 },
  });
  assert.deepEqual(parseCommand("scs 1 average"), {
    ok: true,
    command: { cmd: "SCS", fileID: 1, operation: "AVERAGE" },
  });
  assert.deepEqual(parseCommand("logout"), { ok: true, command: { cmd: "OUT" } });
});

Deno.test("message text keeps its inner spacing and private/broadcast take the rest of the line", () => {
  assert.deepEqual(parseCommand("message watch2 hello   there  "), {
    ok: true,
    command: { cmd: "MESSAGE", device: "watch2", text: "hello   there" },
  });
  assert.deepEqual(parseCommand("BROADCAST  all  hands"), {
    ok: true,
    command: { cmd: "BROADCAST", text: "all  hands" },
  });
  assert.deepEqual(parseCommand("private b x y"), {
    ok: true,
    command: { cmd: "PRIVATE", device: "b", text: "x y" },
  });
});

Deno.test("every malformed command names its problem and its usage", () => {
  const cases: [string, RegExp][] = [
    ["", /type a command/],
    ["zzz", /unknown command "zzz"/],
    ["EDG 1", /EDG needs a fileID and a dataAmount\. Usage: EDG fileID dataAmount$/],
    ["EDG 1 2 3", /EDG takes only a fileID and a dataAmount/],
    ["EDG -1 5", /fileID must be 0\.\.2147483647, not -1/],
    ["EDG 1 100000001", /dataAmount must be 1\.\.100000000/],
    ["UED 1.5", /fileID must be an integer, not "1\.5"/],
    ["SCS 1 median", /operation must be one of SUM, AVERAGE, MAX, MIN, not "median"/],
    ["AED x", /AED takes no arguments/],
    ["UVF a", /UVF needs a device name and a file name/],
    ["message a", /message needs a device name and some text/],
    ["whoelsesince 1e3", /seconds must be an integer/],
    ["unblock", /UNBLOCK needs a device name/],
    ["block a b", /BLOCK/],
  ];
  for (const [line, pattern] of cases) {
    const parsed = parseCommand(line);
    assert.equal(parsed.ok, false, line);
    if (!parsed.ok) assert.match(parsed.message, pattern, line);
  }
});

Deno.test("help takes one command word and shows that command's entry", () => {
  assert.deepEqual(parseCommand("help uvf"), {
    ok: true,
    command: { cmd: "HELP", command: "UVF" },
  });
  assert.deepEqual(parseCommand("HELP quit"), {
    ok: true,
    command: { cmd: "HELP", command: "OUT" },
  });
  assert.deepEqual(parseCommand("help"), { ok: true, command: { cmd: "HELP" } });
  const unknown = parseCommand("help nope");
  assert.ok(!unknown.ok && /there is no command "nope"; `help` lists them/.test(unknown.message));
  assert.equal(parseCommand("help a b").ok, false);
  const help = commandNamed("help")!;
  assert.equal(
    help.render({ command: "UVF" }, { command: "UVF" }),
    "  UVF device filename     send a file to another active device, peer to peer",
  );
  assert.match(help.render({}, {}), /^Commands:\n {2}EDG/);
});
