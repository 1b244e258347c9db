import assert from "node:assert/strict";
import { LineCollector } from "../../tests/_helpers/line_collector.ts";
import { waitUntil } from "../../tests/_helpers/wait.ts";
import { descendantsCpuSeconds } from "./machine.ts";

Deno.test("descendantsCpuSeconds counts the CPU of a matching grandchild, and nothing else", async () => {
  // An outer sh whose child burns CPU, then becomes `cat` (exec keeps its CPU times), which
  // ends when its standard input (this test's pipe) closes.
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      `sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo spun; exec cat'`,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  try {
    const out = new LineCollector(child.stdout);
    await out.waitFor((line) => line === "spun", 60_000);
    // "spun" is written before the exec: the grandchild is named `cat` a moment later.
    await waitUntil(
      () => descendantsCpuSeconds(Deno.pid, /^cat$/) >= 0.05,
      "the grandchild, now cat, counted with the CPU it spent spinning",
    );
    assert.equal(descendantsCpuSeconds(Deno.pid, /^no such command$/), 0);
    // Not this process itself, and not processes that are not below it.
    assert.equal(descendantsCpuSeconds(child.pid, /^sh$/), 0, "the outer sh's child is no sh now");
  } finally {
    await child.stdin.close();
    await child.status;
  }
});
