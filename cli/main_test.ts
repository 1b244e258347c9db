import assert from "node:assert/strict";
import { StartupError } from "../server/mod.ts";
import { reportFailure } from "./main.ts";
import { UsageError } from "./usage_error.ts";

/** Runs reportFailure and returns the exit code and what it printed, as text. */
function report(error: unknown): { code: number; printed: string } {
  const lines: string[] = [];
  const code = reportFailure(error, (...data) => {
    lines.push(data.map((d) => d instanceof Error ? Deno.inspect(d) : String(d)).join(" "));
  });
  return { code, printed: lines.join("\n") };
}

Deno.test("a usage error is one line and exits with its code", () => {
  assert.deepEqual(report(new UsageError("<port> must be an integer 0..65535, not 70000")), {
    code: 2,
    printed: "iotnet: <port> must be an integer 0..65535, not 70000",
  });
});

Deno.test("a server that cannot start is one line and exits 1, whatever its cause", () => {
  const cause = new Deno.errors.AddrInUse("Address already in use (os error 98)");
  assert.deepEqual(
    report(new StartupError("cannot listen on 127.0.0.1:4000: the port is in use", { cause })),
    { code: 1, printed: "iotnet: cannot listen on 127.0.0.1:4000: the port is in use" },
  );
});

Deno.test("a RangeError is a bug, not the operator's mistake: exit 1 with its stack", () => {
  function deepInside(): never {
    throw new RangeError("index 7 is out of range");
  }
  let error: unknown;
  try {
    deepInside();
  } catch (e) {
    error = e;
  }
  const { code, printed } = report(error);
  assert.equal(code, 1);
  assert.match(printed, /^iotnet: unexpected error: RangeError: index 7 is out of range\n/);
  assert.match(printed, /at deepInside \(/, "the stack says where it happened");
});
