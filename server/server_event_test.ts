import assert from "node:assert/strict";
import {
  describeServerEvent,
  loginFailedEvent,
  MAX_SHOWN_NAME_CHARS,
  type ServerEvent,
} from "./server_event.ts";

Deno.test("server events: each kind is the log line the server has always written", () => {
  const lines: [ServerEvent, string][] = [
    [
      { kind: "login", device: "watch1", ip: "127.0.0.1", udpPort: 9 },
      "watch1 joined from 127.0.0.1, UDP port 9",
    ],
    [
      { kind: "logout", device: "watch1", reason: "idle", detail: "was idle for 60 s" },
      "watch1 left (was idle for 60 s)",
    ],
    [
      loginFailedEvent("watch2", { ip: "10.0.0.1", result: "blocked" }),
      "failed login as watch2 from 10.0.0.1 (blocked)",
    ],
    [
      { kind: "lockout", device: "watch2", ip: "10.0.0.1", seconds: 10, failures: 3 },
      "watch2 is locked out for 10 s after 3 failed logins in a row (the last from 10.0.0.1)",
    ],
    [
      { kind: "registered", device: "dev9", ip: "10.0.0.1" },
      "dev9 registered a new account from 10.0.0.1",
    ],
    [
      { kind: "upload", device: "watch1", fileID: 3, samples: 100, bytes: 400 },
      "watch1 uploaded file 3 (100 samples, 400 bytes)",
    ],
    [{ kind: "delete", device: "watch1", fileID: 3 }, "watch1 deleted file 3"],
    [
      {
        kind: "refused",
        ip: "10.0.0.1",
        reason: "max_connections",
        detail: "the server is full",
      },
      "refused a connection from 10.0.0.1: the server is full",
    ],
  ];
  for (const [event, line] of lines) assert.equal(describeServerEvent(event), line);
});

Deno.test("server events: a name that is not a device name is cut and quoted", () => {
  const long = "<img src=x onerror=alert(1)>" + "x".repeat(100);
  const event = loginFailedEvent(long, { ip: "127.0.0.1", result: "bad_credentials" });
  assert.ok(event.kind === "login_failed");
  assert.equal(event.name, long.slice(0, MAX_SHOWN_NAME_CHARS));
  assert.equal(
    describeServerEvent(event),
    `failed login as ${JSON.stringify(long.slice(0, MAX_SHOWN_NAME_CHARS))} from 127.0.0.1 ` +
      "(bad_credentials)",
  );
});
