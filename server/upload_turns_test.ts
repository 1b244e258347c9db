import assert from "node:assert/strict";
import { ManualClock } from "../internal/clock.ts";
import { UploadTurns } from "./upload_turns.ts";

/** Lets pending promise callbacks run. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

const LIMITS = { idleMs: 50, idleTotalMs: 250 };

Deno.test("UploadTurns: at most `size` connections take in bytes; the next gets its turn when one is released", async () => {
  const clock = new ManualClock();
  const turns = new UploadTurns(2, clock, LIMITS);
  const [a, b, c] = [turns.forConnection(), turns.forConnection(), turns.forConnection()];
  await a.take();
  await b.take();
  let cTurn = false;
  void c.take().then(() => (cTurn = true));
  await settle();
  assert.deepEqual([turns.held, turns.waiting, cTurn], [2, 1, false]);
  a.release();
  await settle();
  assert.deepEqual([turns.held, turns.waiting, cTurn, a.held, c.held], [2, 0, true, false, true]);
  b.release();
  c.release();
  assert.equal(turns.held, 0);
});

Deno.test("UploadTurns: a connection holds one turn however many uploads it takes bytes for", async () => {
  const clock = new ManualClock();
  const turns = new UploadTurns(4, clock, LIMITS);
  const greedy = turns.forConnection();
  for (let upload = 0; upload < 40; upload++) await greedy.take();
  assert.deepEqual([turns.held, turns.waiting], [1, 0]);
  greedy.release();
  greedy.release(); // twice is harmless
  assert.equal(turns.held, 0);
});

Deno.test("UploadTurns: a connection whose sender is quiet loses its turn after the idle time, before or after its first bytes", async () => {
  const clock = new ManualClock();
  const turns = new UploadTurns(1, clock, LIMITS);
  let passedOn = 0;
  const quiet = turns.forConnection(() => passedOn++);
  const next = turns.forConnection();
  await quiet.take(); // bytes arrived and were processed
  quiet.awaitBytes(); // its session reads on; nothing comes
  let nextTurn = false;
  void next.take().then(() => (nextTurn = true));
  clock.advance(49);
  await settle();
  assert.equal(nextTurn, false);
  clock.advance(1);
  await settle();
  assert.deepEqual([nextTurn, quiet.held, passedOn], [true, false, 1]);
  // Its bytes arrive: it waits behind the connection now taking in bytes.
  let quietBack = false;
  void quiet.take().then(() => (quietBack = true));
  await settle();
  assert.equal(quietBack, false);
  next.release();
  await settle();
  assert.equal(quietBack, true);
  quiet.release();
  assert.equal(clock.pending, 0, "no idle timer left behind");
});

Deno.test("UploadTurns: a sender that trickles bytes keeps its turn no longer than the idle time in all", async () => {
  const clock = new ManualClock();
  const turns = new UploadTurns(1, clock, LIMITS);
  const trickler = turns.forConnection();
  const other = turns.forConnection();
  await trickler.take();
  let otherTurn = false;
  void other.take().then(() => (otherTurn = true));
  let kept = 0;
  while (trickler.held) {
    trickler.awaitBytes();
    clock.advance(40); // a byte every 40 ms: never 50 ms of silence
    await settle();
    if (!trickler.held) break;
    await trickler.take();
    kept += 40;
  }
  assert.equal(kept, 240, "six gaps of 40 ms; the seventh runs out the 250 ms");
  await settle();
  assert.equal(otherTurn, true);
  other.release();
});

Deno.test("UploadTurns: processing bytes is never cut short, however long it takes", async () => {
  const clock = new ManualClock();
  const turns = new UploadTurns(1, clock, LIMITS);
  const [busy, other] = [turns.forConnection(), turns.forConnection()];
  let otherTurn = false;
  for (let i = 0; i < 5; i++) {
    if (i > 0) busy.awaitBytes();
    clock.advance(10);
    await busy.take(); // bytes came within the idle time
    if (i === 0) void other.take().then(() => (otherTurn = true));
    clock.advance(500); // slow processing (a long fsync) keeps the turn
    await settle();
    assert.equal(otherTurn, false);
  }
  busy.release();
  await settle();
  assert.equal(otherTurn, true);
  other.release();
  assert.equal(clock.pending, 0, "no idle timer left behind");
});

Deno.test("UploadTurns: a wait for a turn ends when its connection closes, and the line moves on", async () => {
  const clock = new ManualClock();
  const turns = new UploadTurns(1, clock, LIMITS);
  const [holder, closing, after] = [
    turns.forConnection(),
    turns.forConnection(),
    turns.forConnection(),
  ];
  await holder.take();
  const closed = new AbortController();
  const waiting = closing.take(closed.signal);
  let afterTurn = false;
  void after.take().then(() => (afterTurn = true));
  closed.abort(new Error("the session closed"));
  await assert.rejects(waiting, /the session closed/);
  assert.equal(closing.held, false);
  holder.release();
  await settle();
  assert.equal(afterTurn, true);
  after.release();
  assert.equal(turns.held, 0);
});

Deno.test("UploadTurns: a turn whose idle time ran out while its timer was late is passed on at once, never with a negative delay", async () => {
  // A timer can fire late (a busy event loop): bytes then arrive after its due time and the
  // idle time left goes below zero. The next wait must be for 0 ms, not a negative time.
  const manual = new ManualClock();
  let late = 0;
  const delays: number[] = [];
  const clock = {
    now: () => manual.now() + late,
    setTimeout: (fn: () => void, ms: number) => {
      delays.push(ms);
      return manual.setTimeout(fn, ms);
    },
    clearTimeout: (id: Parameters<ManualClock["clearTimeout"]>[0]) => manual.clearTimeout(id),
  };
  const turns = new UploadTurns(1, clock, LIMITS);
  const conn = turns.forConnection();
  await conn.take();
  for (let i = 0; i < 5; i++) {
    conn.awaitBytes();
    late += 60; // 60 ms pass and the 50 ms timer has not run yet
    await conn.take(); // bytes came first
  }
  conn.awaitBytes();
  assert.ok(delays.every((ms) => ms >= 0), `delays ${delays.join(", ")}`);
  manual.advance(0);
  await settle();
  assert.equal(conn.held, false, "the turn is passed on at once");
});
