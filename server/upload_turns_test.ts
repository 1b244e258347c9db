import assert from "node:assert/strict";
import { ManualClock } from "../internal/clock.ts";
import { UploadTurns } from "./upload_turns.ts";

/** Lets pending promise callbacks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("UploadTurns: at most `size` uploads take in bytes; the next gets its turn when one ends", async () => {
  const clock = new ManualClock();
  const turns = new UploadTurns(2, clock, 50);
  const [a, b, c] = [turns.forUpload(), turns.forUpload(), turns.forUpload()];
  await a.take();
  await b.take();
  let cTurn = false;
  void c.take().then(() => (cTurn = true));
  await settle();
  assert.deepEqual([turns.held, turns.waiting, cTurn], [2, 1, false]);
  a.end();
  await settle();
  assert.deepEqual([turns.held, turns.waiting, cTurn], [2, 0, true]);
  b.end();
  c.end();
  await settle();
  assert.equal(turns.held, 0);
});

Deno.test("UploadTurns: a sender that sends nothing loses its turn after the idle time, and queues again", async () => {
  const clock = new ManualClock();
  const turns = new UploadTurns(1, clock, 50);
  const [idle, next] = [turns.forUpload(), turns.forUpload()];
  await idle.waitForBytes(); // its session reads on; nothing comes
  let nextTurn = false;
  void next.take().then(() => (nextTurn = true));
  clock.advance(49);
  await settle();
  assert.equal(nextTurn, false);
  clock.advance(1);
  await settle();
  assert.equal(nextTurn, true, "the idle upload's turn went on");
  // Its bytes arrive: it waits behind the upload now taking in bytes.
  let idleBack = false;
  void idle.take().then(() => (idleBack = true));
  await settle();
  assert.equal(idleBack, false);
  next.end();
  await settle();
  assert.equal(idleBack, true);
  idle.end();
});

Deno.test("UploadTurns: bytes arriving in time keep the turn; processing them is never cut short", async () => {
  const clock = new ManualClock();
  const turns = new UploadTurns(1, clock, 50);
  const [busy, other] = [turns.forUpload(), turns.forUpload()];
  let otherTurn = false;
  for (let i = 0; i < 5; i++) {
    await busy.waitForBytes();
    clock.advance(40);
    await busy.take(); // bytes came within the idle time
    if (i === 0) void other.take().then(() => (otherTurn = true));
    clock.advance(500); // slow processing (a long fsync) keeps the turn
    await settle();
    assert.equal(otherTurn, false);
  }
  busy.end();
  await settle();
  assert.equal(otherTurn, true);
  other.end();
  assert.equal(clock.pending, 0, "no idle timer left behind");
});
