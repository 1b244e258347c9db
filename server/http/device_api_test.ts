import assert from "node:assert/strict";
import { deviceDetail, MAX_DEVICE_FILES, MAX_DEVICE_VISITS } from "./device_api.ts";
import type { PresenceVisit, StoredFile } from "../store/interfaces.ts";

function file(fileID: number): StoredFile {
  return {
    device: "watch1",
    fileID,
    count: 3,
    sum: 2n ** 60n + 1n,
    min: -4_000,
    max: 7,
    bytes: 20,
    uploadedAt: 0,
  };
}

/** Visits as the store gives them: the session now (since 1,000), one ended, one cut short. */
const VISITS: PresenceVisit[] = [
  { since: 1_000, until: null, reason: null, ip: "10.0.0.2" },
  { since: 400, until: 700, reason: "idle", ip: "10.0.0.3" },
  { since: 100, until: null, reason: null, ip: "10.0.0.3" },
];

function sources(files: StoredFile[], online = true) {
  const asked: number[] = [];
  const visitsAsked: number[] = [];
  return {
    asked,
    visitsAsked,
    now: 31_000,
    online: (name: string) =>
      online && name === "watch1" ? { since: 1_000, ip: "10.0.0.2", udpPort: 5000 } : undefined,
    files: {
      ofDevice: (_device: string, limit: number) => {
        asked.push(limit);
        return Promise.resolve(files.slice(0, limit));
      },
    },
    presence: {
      lastSeen: () => Promise.resolve(2_000),
      visits: (_device: string, limit: number) => {
        visitsAsked.push(limit);
        return Promise.resolve(VISITS.slice(0, limit));
      },
    },
  };
}

Deno.test("device detail: session, last seen, files with the exact sum as text", async () => {
  const detail = await deviceDetail("watch1", sources([file(1), file(4)]));
  assert.ok(typeof detail !== "string");
  assert.deepEqual(detail.online, {
    since: "1970-01-01T00:00:01.000Z",
    ip: "10.0.0.2",
    udpPort: 5000,
  });
  assert.equal(detail.lastSeen, "1970-01-01T00:00:02.000Z");
  assert.deepEqual(detail.files.map((f) => f.fileID), [1, 4]);
  assert.equal(detail.files[0]!.sum, "1152921504606846977");
  assert.equal(detail.more, false);
});

Deno.test("device detail: offline, and the file list is bounded", async () => {
  const many = Array.from({ length: MAX_DEVICE_FILES + 5 }, (_, i) => file(i));
  const s = sources(many, false);
  const detail = await deviceDetail("watch1", s);
  assert.ok(typeof detail !== "string");
  assert.equal(detail.online, null);
  assert.equal(detail.files.length, MAX_DEVICE_FILES);
  assert.equal(detail.more, true);
  assert.deepEqual(s.asked, [MAX_DEVICE_FILES + 1]);
});

Deno.test("device detail: a name no device can have is refused, saying why", async () => {
  const answer = await deviceDetail("<b>x</b>", sources([]));
  assert.match(answer as string, /device name may hold only letters/);
});

Deno.test("device detail: visits with their length; the one under way runs to now", async () => {
  const s = sources([]);
  const detail = await deviceDetail("watch1", s);
  assert.ok(typeof detail !== "string");
  assert.deepEqual(s.visitsAsked, [MAX_DEVICE_VISITS]);
  assert.deepEqual(detail.visits, [
    {
      since: "1970-01-01T00:00:01.000Z",
      until: null,
      seconds: 30,
      reason: null,
      ip: "10.0.0.2",
      current: true,
    },
    {
      since: "1970-01-01T00:00:00.400Z",
      until: "1970-01-01T00:00:00.700Z",
      seconds: 0,
      reason: "idle",
      ip: "10.0.0.3",
      current: false,
    },
    // No logout recorded (the server stopped first): its length is not known.
    {
      since: "1970-01-01T00:00:00.100Z",
      until: null,
      seconds: null,
      reason: null,
      ip: "10.0.0.3",
      current: false,
    },
  ]);
  const offline = await deviceDetail("watch1", sources([], false));
  assert.ok(typeof offline !== "string");
  assert.equal(offline.visits[0]!.current, false, "offline: no visit is under way");
  assert.equal(offline.visits[0]!.seconds, null);
});
