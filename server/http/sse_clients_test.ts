import assert from "node:assert/strict";
import { SseClients, sseMessage } from "./sse_clients.ts";

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

Deno.test("SSE clients: each gets the first message then every one sent, up to the cap", async () => {
  const clients = new SseClients(2, 5);
  const a = clients.open(bytes("first\n\n"))!;
  const b = clients.open(bytes("first\n\n"))!;
  assert.equal(a.headers.get("content-type"), "text/event-stream");
  assert.equal(clients.open(bytes("x")), undefined, "the third is refused");
  clients.send(bytes("next\n\n"));
  for (const response of [a, b]) {
    assert.equal(await readText(response.body!.getReader(), 2), "first\n\nnext\n\n");
  }
  clients.close();
  assert.equal(clients.size, 0);
});

Deno.test("SSE clients: one that stops reading is dropped past its queue, the others stay", async () => {
  const clients = new SseClients(4, 5);
  const stalled = clients.open(bytes("first\n\n"))!;
  const reading = clients.open(bytes("first\n\n"))!;
  const reader = reading.body!.getReader();
  for (let i = 0; i < 10; i++) {
    clients.send(bytes(`m${i}\n\n`));
    await reader.read();
  }
  assert.equal(clients.size, 1, "the stalled one is gone");
  // Its stream errors (its queue let go), so the HTTP server ends its response.
  await assert.rejects(stalled.body!.getReader().read(), /stopped reading/);
  // A place is free again.
  assert.ok(clients.open(bytes("first\n\n")));
  clients.close();
  await reader.cancel();
});

Deno.test("SSE clients: a client that cancels frees its place; closing ends the streams", async () => {
  const clients = new SseClients(1, 5);
  const first = clients.open(bytes("a"))!;
  await first.body!.cancel();
  assert.equal(clients.size, 0);
  const second = clients.open(bytes("a"))!;
  const reader = second.body!.getReader();
  await reader.read();
  clients.close();
  assert.equal((await reader.read()).done, true);
});

Deno.test("SSE message: id, event and one line of JSON", () => {
  assert.equal(sseMessage("x", "a\nb"), 'event: x\ndata: "a\\nb"\n\n');
});
