import assert from "node:assert/strict";
import { ManualClock } from "../../internal/clock.ts";
import type { ServerEvent } from "../server_event.ts";
import {
  EventFeed,
  FEED_BACKLOG,
  FEED_HEARTBEAT_MS,
  FEED_INTERVAL_MS,
  type FeedMessage,
  MAX_FEED_CLIENTS,
} from "./event_feed.ts";
import { EventRing } from "./event_ring.ts";

/** Reads one SSE block (up to its blank line) off `reader`: its event and data, or a comment. */
async function nextBlock(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<{ event?: string; id?: string; data?: FeedMessage; comment?: boolean }> {
  const { value, done } = await reader.read();
  if (done) throw new Error("the stream ended");
  const text = new TextDecoder().decode(value);
  assert.ok(text.endsWith("\n\n"), "one whole message per chunk");
  if (text.startsWith(":")) return { comment: true };
  const field = (name: string) => new RegExp(`^${name}: (.*)$`, "m").exec(text)?.[1];
  return { event: field("event")!, id: field("id")!, data: JSON.parse(field("data")!) };
}

function upload(fileID: number): ServerEvent {
  return { kind: "upload", device: "watch1", fileID, samples: 1, bytes: 2 };
}

function setup(capacity = 2_000) {
  const clock = new ManualClock(0);
  const ring = new EventRing<ServerEvent>(capacity);
  const feed = new EventFeed(clock, ring);
  return { clock, ring, feed };
}

Deno.test("event feed: a backlog of the latest, then what is new once a second", async () => {
  const { clock, ring, feed } = setup();
  for (let i = 1; i <= FEED_BACKLOG + 10; i++) ring.add(i, upload(i));
  const reader = feed.open()!.body!.getReader();
  const backlog = await nextBlock(reader);
  assert.equal(backlog.event, "backlog");
  assert.equal(backlog.data!.events.length, FEED_BACKLOG);
  assert.deepEqual(backlog.data!.events.at(-1), {
    kind: "upload",
    device: "watch1",
    fileID: FEED_BACKLOG + 10,
    samples: 1,
    bytes: 2,
    seq: FEED_BACKLOG + 10,
    at: new Date(FEED_BACKLOG + 10).toISOString(),
    text: `watch1 uploaded file ${FEED_BACKLOG + 10} (1 samples, 2 bytes)`,
  });
  ring.add(5_000, { kind: "delete", device: "watch1", fileID: 3 });
  clock.advance(FEED_INTERVAL_MS - 1);
  ring.add(5_001, upload(4));
  clock.advance(1);
  const next = await nextBlock(reader);
  assert.equal(next.event, "events");
  assert.equal(next.id, String(FEED_BACKLOG + 12));
  assert.deepEqual(next.data!.events.map((e) => e.kind), ["delete", "upload"]);
  assert.equal(next.data!.missed, 0);
  feed.close();
  assert.equal((await reader.read()).done, true);
  assert.equal(clock.pending, 0, "closed: no more reads of the ring");
});

Deno.test("event feed: a client joining others gets nothing twice and misses nothing", async () => {
  const { clock, ring, feed } = setup();
  ring.add(1, upload(1));
  const first = feed.open()!.body!.getReader();
  await nextBlock(first);
  ring.add(2, upload(2)); // not yet sent to the first
  const second = feed.open()!.body!.getReader();
  const backlog = await nextBlock(second);
  assert.deepEqual(backlog.data!.events.map((e) => e.seq), [1]);
  clock.advance(FEED_INTERVAL_MS);
  for (const reader of [first, second]) {
    assert.deepEqual((await nextBlock(reader)).data!.events.map((e) => e.seq), [2]);
  }
  feed.close();
});

Deno.test("event feed: a burst past the ring between two reads is counted as missed", async () => {
  const { clock, ring, feed } = setup(50);
  const reader = feed.open()!.body!.getReader();
  await nextBlock(reader);
  for (let i = 0; i < 57; i++) ring.add(i, upload(i));
  clock.advance(FEED_INTERVAL_MS);
  const message = (await nextBlock(reader)).data!;
  assert.equal(message.events.length, 50);
  assert.equal(message.missed, 7);
  assert.equal(message.events[0]!.seq, 8);
  feed.close();
});

Deno.test("event feed: a comment when silent for long; at most MAX_FEED_CLIENTS", async () => {
  const { clock, feed } = setup();
  const reader = feed.open()!.body!.getReader();
  await nextBlock(reader);
  clock.advance(FEED_HEARTBEAT_MS);
  assert.deepEqual(await nextBlock(reader), { comment: true });
  const others = [];
  for (let i = 1; i < MAX_FEED_CLIENTS; i++) others.push(feed.open()!);
  assert.equal(feed.open(), undefined);
  await others.pop()!.body!.cancel();
  assert.ok(feed.open(), "a place freed by a client that left");
  feed.close();
});

Deno.test("event feed: nobody watching, nothing is read or timed", () => {
  const { clock, ring, feed } = setup();
  ring.add(1, upload(1));
  assert.equal(clock.pending, 0);
  feed.close();
});
