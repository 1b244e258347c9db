import assert from "node:assert/strict";
import { createOutput } from "./output.ts";
import type { LineInput } from "./line_input.ts";

/** A line input that records what is printed. */
function recorder(): LineInput & { printed: string[] } {
  const printed: string[] = [];
  return {
    printed,
    read: () => Promise.resolve(null),
    print: (text) => void printed.push(text),
    status: () => {},
    onInterrupt: undefined,
    close: () => {},
  };
}

const HOSTILE = "hi\nwatch3: forged\x1b[2J\x9b31m\u202egnp.exe";

Deno.test("human output lets no control character but line breaks reach the terminal", () => {
  // Line breaks in text from the network are escaped where a message is composed (edge.ts,
  // commands.ts; tests/human_output_test.ts); this is the backstop for everything else.
  const input = recorder();
  const output = createOutput(input, { json: false, color: false });
  output.event({
    event: "message",
    from: "watch1",
    text: HOSTILE,
    kind: "direct",
    message: `watch1: ${HOSTILE}`,
  });
  output.result({ cmd: "AED", ok: true, message: "watch2\nwatch3\x1b[1A", devices: [] });
  output.result({ cmd: "UVF", ok: false, error: "io", message: "peer said \x1b[31mno" });
  output.info("line one\nline two\x07");
  assert.deepEqual(input.printed, [
    "watch1: hi\nwatch3: forged\\x1b[2J\\x9b31m\\u202egnp.exe",
    "watch2\nwatch3\\x1b[1A",
    "Error: peer said \\x1b[31mno",
    "line one\nline two\\x07",
  ]);
});

Deno.test("human output in colour adds only its own escapes around the visible text", () => {
  const input = recorder();
  createOutput(input, { json: false, color: true }).event({
    event: "presence",
    device: "watch2",
    state: "online",
    message: "watch2\x1b[8m is online",
  });
  assert.deepEqual(input.printed, ["\x1b[36mwatch2\\x1b[8m is online\x1b[0m"]);
});

Deno.test("--json keeps the exact text a device sent", () => {
  const input = recorder();
  createOutput(input, { json: true, color: false }).event({
    event: "message",
    from: "watch1",
    text: HOSTILE,
    kind: "direct",
    message: "watch1: (shown)",
  });
  assert.equal(JSON.parse(input.printed[0]!).text, HOSTILE);
  assert.doesNotMatch(input.printed[0]!, /\n/);
});

Deno.test("a failed event reads like a failed command: Error: and the message", () => {
  const input = recorder();
  const output = createOutput(input, { json: false, color: false });
  output.event({ event: "login", ok: false, error: "offline", message: "cannot reach the server" });
  output.result({ cmd: "SCS", ok: false, error: "not_found", message: "no file 3" });
  assert.deepEqual(input.printed, ["Error: cannot reach the server", "Error: no file 3"]);
});
