import assert from "node:assert/strict";
import { createEventLog, type LogWriter } from "./event_log.ts";

/** A writer whose first write waits until `release` (stdout not being read). */
function stalledWriter(): { writer: LogWriter; written: string[]; release(): void } {
  const written: string[] = [];
  const stalled = Promise.withResolvers<void>();
  let calls = 0;
  const writer: LogWriter = {
    async write(bytes) {
      if (calls++ === 0) await stalled.promise;
      written.push(new TextDecoder().decode(bytes));
      return bytes.length;
    },
  };
  return { writer, written, release: () => stalled.resolve() };
}

Deno.test("lines queue behind a stalled writer without blocking, and drops are reported", async () => {
  const { writer, written, release } = stalledWriter();
  const log = createEventLog(writer, { maxQueuedBytes: 40 });
  log.line("first");
  await new Promise((r) => setTimeout(r, 0)); // its write has started, and is stalled
  for (let i = 0; i < 10; i++) log.line(`line ${i}`); // 7 bytes each: 5 fit in 40
  assert.deepEqual(written, []);
  release();
  await log.flush();
  const text = written.join("");
  assert.match(text, /^first\nline 0\nline 1\nline 2\nline 3\nline 4\n/);
  assert.match(text, /\(5 log lines were dropped while stdout was not being read\)\n$/);
});

Deno.test("a closed stdout ends logging quietly", async () => {
  const log = createEventLog({ write: () => Promise.reject(new Deno.errors.BrokenPipe("gone")) });
  log.line("lost");
  await log.flush();
  log.line("also lost");
  await log.flush();
});

Deno.test("lines logged in one turn go out in one write", async () => {
  const writes: string[] = [];
  const log = createEventLog({
    write: (b) => (writes.push(new TextDecoder().decode(b)), Promise.resolve(b.length)),
  });
  log.line("listening on 127.0.0.1:1");
  log.line("recovery: something");
  await log.flush();
  assert.deepEqual(writes, ["listening on 127.0.0.1:1\nrecovery: something\n"]);
});

Deno.test("control characters in a line reach stdout as escapes", async () => {
  const written: string[] = [];
  const log = createEventLog({
    write: (b) => (written.push(new TextDecoder().decode(b)), Promise.resolve(b.length)),
  });
  log.line(`failed login as ${JSON.stringify("\x9b2J\u202eevil\x1b[1A\n")} from 127.0.0.1`);
  await log.flush();
  assert.equal(
    written.join(""),
    'failed login as "\\x9b2J\\u202eevil\\u001b[1A\\n" from 127.0.0.1\n',
  );
});

Deno.test("every line and the notice of drops go through the format", async () => {
  const { writer, written, release } = stalledWriter();
  const log = createEventLog(writer, { maxQueuedBytes: 30, format: (m) => `T ${m}` });
  log.line("first");
  await new Promise((r) => setTimeout(r, 0));
  for (let i = 0; i < 10; i++) log.line(`line ${i}`);
  release();
  await log.flush();
  const lines = written.join("").trimEnd().split("\n");
  assert.ok(lines.every((l) => l.startsWith("T ")), lines.join("\n"));
  assert.match(lines.at(-1)!, /^T \(\d+ log lines were dropped/);
});
