import assert from "node:assert/strict";
import { ManualClock } from "../../internal/clock.ts";
import { SseBroadcast, sseMessage } from "./sse_broadcast.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

async function readText(reader: ReadableStreamDefaultReader<Uint8Array>, chunks: number) {
  let text = "";
  for (let i = 0; i < chunks; i++) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  return text;
}

/** A broadcast on a manual clock, each tick sending what `messages` holds next. */
function setup(maxClients: number, maxQueued: number) {
  const clock = new ManualClock(0);
  const messages: (string | undefined)[] = [];
  let asked = 0;
  const broadcast = new SseBroadcast({
    clock,
    intervalMs: 1_000,
    maxClients,
    maxQueued,
    next: () => {
      asked++;
      const m = messages.shift();
      return m === undefined ? undefined : bytes(m);
    },
  });
  return { clock, messages, broadcast, asked: () => asked };
}

Deno.test("SSE broadcast: each client gets its first message then every tick's, up to the cap", async () => {
  const { clock, messages, broadcast } = setup(2, 5);
  const a = broadcast.open(bytes("first\n\n"))!;
  const b = broadcast.open(bytes("first\n\n"))!;
  assert.equal(a.headers.get("content-type"), "text/event-stream");
  assert.equal(broadcast.open(bytes("x")), undefined, "the third is refused");
  messages.push("next\n\n", undefined, "last\n\n");
  clock.advance(3_000);
  for (const response of [a, b]) {
    assert.equal(await readText(response.body!.getReader(), 3), "first\n\nnext\n\nlast\n\n");
  }
  broadcast.close();
  assert.equal(broadcast.size, 0);
  assert.equal(clock.pending, 0, "closed: no timer");
});

Deno.test("SSE broadcast: the timer runs only while someone watches", async () => {
  const { clock, broadcast, asked } = setup(2, 5);
  clock.advance(5_000);
  assert.equal(asked(), 0);
  const response = broadcast.open(bytes("first\n\n"))!;
  clock.advance(2_000);
  assert.equal(asked(), 2);
  await response.body!.cancel();
  clock.advance(5_000);
  assert.equal(asked(), 2, "nobody watches: not asked");
  assert.equal(clock.pending, 0);
});

Deno.test("SSE broadcast: one that stops reading is dropped past its queue, the others stay", async () => {
  const { clock, messages, broadcast } = setup(4, 5);
  const stalled = broadcast.open(bytes("first\n\n"))!;
  const reading = broadcast.open(bytes("first\n\n"))!;
  const reader = reading.body!.getReader();
  await reader.read();
  for (let i = 0; i < 10; i++) {
    messages.push(`m${i}\n\n`);
    clock.advance(1_000);
    await reader.read();
  }
  assert.equal(broadcast.size, 1, "the stalled one is gone");
  // Its stream errors (its queue let go), so the HTTP server ends its response.
  await assert.rejects(stalled.body!.getReader().read(), /stopped reading/);
  assert.ok(broadcast.open(bytes("first\n\n")), "its place is free again");
  broadcast.close();
  await reader.cancel();
});

Deno.test("SSE broadcast: closing ends the streams", async () => {
  const { broadcast } = setup(1, 5);
  const reader = broadcast.open(bytes("a"))!.body!.getReader();
  await reader.read();
  broadcast.close();
  assert.equal((await reader.read()).done, true);
});

Deno.test("SSE message: id, event and one line of JSON", () => {
  assert.equal(sseMessage("x", "a\nb"), 'event: x\ndata: "a\\nb"\n\n');
});
