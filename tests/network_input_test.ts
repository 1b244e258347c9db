import assert from "node:assert/strict";
import { RawClient } from "./_helpers/raw_client.ts";
import { ServerProcess } from "./_helpers/server_process.ts";

/** A line of a JavaScript stack trace. */
const STACK_LINE = /^\s+at /;

Deno.test("uvf with a file name too long for a ticket, control characters or a huge size is bad_args, with no stack trace in the log", async () => {
  await using server = await ServerProcess.start();
  using sender = await RawClient.connect(server.port, "watch1");
  using _receiver = await RawClient.connect(server.port, "watch2");
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ filename: "€".repeat(255), size: 10 }, /file name is too long/],
    [{ filename: "a\u0001b.txt", size: 10 }, /file name may not contain control characters/],
    [{ filename: "a\u001b[31m.txt", size: 10 }, /file name may not contain control characters/],
    [
      { filename: "big.bin", size: 2 ** 50 },
      /size 1125899906842624 is over the 281474976710656-byte/,
    ],
  ];
  for (const [fields, message] of cases) {
    const res = await sender.request({ op: "uvf", to: "watch2", ...fields });
    assert.ok(res.t === "res" && !res.ok, JSON.stringify(res));
    assert.equal(res.error, "bad_args", JSON.stringify(res));
    assert.match(res.message, message);
  }
  // The session serves on.
  const ok = await sender.request({ op: "uvf", to: "watch2", filename: "f.txt", size: 10 });
  assert.ok(ok.t === "res" && ok.ok, JSON.stringify(ok));
  const stack = server.stdout.lines.filter((l) => STACK_LINE.test(l));
  assert.deepEqual(stack, [], server.stdout.lines.join("\n"));
  assert.ok(!server.stdout.lines.some((l) => /internal/.test(l)), server.stdout.lines.join("\n"));
});
