import assert from "node:assert/strict";
import { decodeNodeJob, encodeNodeJob, type NodeJob } from "./node_job.ts";

Deno.test("node job: a remove_file job round-trips through its row", () => {
  for (
    const job of [
      { kind: "remove_file", device: "watch1", fileID: 0, reason: "deleted", by: "node-a" },
      { kind: "remove_file", device: "w", fileID: 2_147_483_647, reason: "replaced", by: "b.2" },
    ] satisfies NodeJob[]
  ) {
    assert.deepEqual(decodeNodeJob(encodeNodeJob(job)), { job });
  }
});

Deno.test("node job: a row this iotnet cannot run says why, and never throws", () => {
  const good = { device: "watch1", fileID: 3, reason: "deleted", by: "node-a" };
  const row = (fields: unknown, kind = "remove_file") => ({
    kind,
    payload: typeof fields === "string" ? fields : JSON.stringify(fields),
  });
  for (
    const [input, problem] of [
      [row(good, "compact"), 'unknown job kind "compact"'],
      [row("{not json"), "its payload is not JSON"],
      [row("null"), "its payload names no valid device"],
      [row({ ...good, device: "../x" }), "its payload names no valid device"],
      [row({ ...good, fileID: -1 }), "its payload names no valid file ID"],
      [row({ ...good, fileID: 1.5 }), "its payload names no valid file ID"],
      [row({ ...good, fileID: "3" }), "its payload names no valid file ID"],
      [row({ ...good, reason: "moved" }), "its payload gives no reason (deleted or replaced)"],
      [row({ ...good, by: 7 }), "its payload names no node"],
      [row({ ...good, by: "a b" }), "its payload names no valid node"],
    ] as const
  ) {
    assert.deepEqual(decodeNodeJob(input), { problem }, input.payload);
  }
});
