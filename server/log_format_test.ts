import assert from "node:assert/strict";
import { formatLogLine } from "./log_format.ts";

const AT = Date.UTC(2026, 11, 5, 8, 52, 14, 123);

Deno.test("a text log line starts with the ISO 8601 UTC time", () => {
  assert.equal(
    formatLogLine("listening on 127.0.0.1:1", AT, "text"),
    "2026-12-05T08:52:14.123Z listening on 127.0.0.1:1",
  );
});

Deno.test("a JSON log line is one object with time and message, whatever the message holds", () => {
  const message = 'failed login as "x\\"y" from 127.0.0.1\nsecond line';
  const line = formatLogLine(message, AT, "json");
  assert.ok(!line.includes("\n"), "one line");
  assert.deepEqual(JSON.parse(line), { time: "2026-12-05T08:52:14.123Z", message });
});
