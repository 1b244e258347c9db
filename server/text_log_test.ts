import assert from "node:assert/strict";
import { join } from "node:path";
import { Disk } from "./disk.ts";
import { formatLogLine, parseLogLine, readLines, TextLog } from "./text_log.ts";

/** Counts the log's opens for appending while `work` runs: one per write. */
async function countAppendOpens(work: () => Promise<void>): Promise<number> {
  const open = Deno.open;
  let opens = 0;
  Deno.open = (path, options) => {
    if (options?.append) opens++;
    return open(path, options);
  };
  try {
    await work();
  } finally {
    Deno.open = open;
  }
  return opens;
}

function line(i: number): string {
  return formatLogLine(`dev${i}`, Date.UTC(2026, 0, 15, 9, 30), i, i * 10);
}

Deno.test("TextLog.append: lines appended together go out in one write, whole and in order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = join(dir, "upload-log.txt");
    const textLog = new TextLog(log, new Disk());
    const lines = Array.from({ length: 200 }, (_, i) => line(i));
    const opens = await countAppendOpens(async () => {
      await Promise.all(lines.map((l) => textLog.append(l)));
    });
    assert.equal(opens, 1);
    assert.deepEqual(await Array.fromAsync(readLines(log)), lines);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TextLog.append: lines that arrive during a write wait for the next one, in order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = join(dir, "upload-log.txt");
    const textLog = new TextLog(log, new Disk());
    const first = Array.from({ length: 50 }, (_, i) => line(i));
    const second = Array.from({ length: 50 }, (_, i) => line(50 + i));
    const opens = await countAppendOpens(async () => {
      const writing = Promise.all(first.map((l) => textLog.append(l)));
      // The first write has started once a macrotask has passed.
      await new Promise((resolve) => setTimeout(resolve, 0));
      await Promise.all([writing, ...second.map((l) => textLog.append(l))]);
    });
    assert.equal(opens, 2);
    assert.deepEqual(await Array.fromAsync(readLines(log)), [...first, ...second]);
    for (const text of await Array.fromAsync(readLines(log))) assert.ok(parseLogLine(text), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("TextLog.append: a failed write rejects every line in it; the next write goes on", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = join(dir, "upload-log.txt");
    const textLog = new TextLog(log, new Disk());
    await Deno.mkdir(log); // a directory where the log should be: the open fails
    const failing = [line(1), line(2), line(3)].map((l) => textLog.append(l));
    for (const result of await Promise.allSettled(failing)) {
      assert.equal(result.status, "rejected");
    }
    await Deno.remove(log);
    await textLog.append(line(4));
    assert.deepEqual(await Array.fromAsync(readLines(log)), [line(4)]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseLogLine reads the SPEC format and nothing else", () => {
  const at = new Date(2022, 8, 30, 10, 31, 13).getTime();
  assert.deepEqual(parseLogLine("watch1; 30 September 2022 10:31:13; 3; 100"), {
    device: "watch1",
    at,
    fileID: 3,
    dataAmount: 100,
  });
  for (
    const bad of [
      "",
      "watch1; 30 September 2022 10:31:13; 3",
      "watch1; 30 September 2022 10:31:13; 3; 100; 4",
      "watch1; 30 Sept 2022 10:31:13; 3; 100",
      "watch1; 01 September 2022 10:31:13; 3; 100",
      "watch1; 31 February 2022 10:31:13; 3; 100",
      "watch1; 30 September 2022 24:00:00; 3; 100",
      "watch1;  30 September 2022 10:31:13; 3; 100",
      "watch1; 30 September 2022 10:31:13; -3; 100",
      "../x; 30 September 2022 10:31:13; 3; 100",
      "watch1; 30 September 2022 10:31:13; 3; 100\r",
    ]
  ) {
    assert.equal(parseLogLine(bad), undefined, bad);
  }
});
