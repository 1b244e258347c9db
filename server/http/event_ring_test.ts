import assert from "node:assert/strict";
import { EventRing } from "./event_ring.ts";

Deno.test("event ring: entries after a number, oldest first, with their times", () => {
  const ring = new EventRing<string>(4);
  assert.equal(ring.last, 0);
  assert.deepEqual(ring.after(0), { entries: [], missed: 0 });
  ring.add(10, "a");
  ring.add(20, "b");
  ring.add(30, "c");
  assert.equal(ring.last, 3);
  assert.deepEqual(ring.after(1), {
    entries: [{ seq: 2, at: 20, item: "b" }, { seq: 3, at: 30, item: "c" }],
    missed: 0,
  });
  assert.deepEqual(ring.after(3), { entries: [], missed: 0 });
  // Up to a number: what a client that joins others gets, so the next read is not repeated.
  assert.deepEqual(ring.after(0, 2).entries.map((e) => e.item), ["a", "b"]);
});

Deno.test("event ring: when full the oldest go, and a reader learns how many it missed", () => {
  const ring = new EventRing<number>(3);
  for (let i = 1; i <= 10; i++) ring.add(i * 100, i);
  assert.equal(ring.last, 10);
  const read = ring.after(2);
  assert.deepEqual(read.entries.map((e) => [e.seq, e.at, e.item]), [
    [8, 800, 8],
    [9, 900, 9],
    [10, 1000, 10],
  ]);
  assert.equal(read.missed, 5, "3..7 came and went");
  assert.equal(ring.after(7).missed, 0);
  assert.deepEqual(ring.after(0, 4), { entries: [], missed: 4 });
  // A number from the future (another run's) reads nothing and misses nothing.
  assert.deepEqual(ring.after(50), { entries: [], missed: 0 });
});

Deno.test("event ring: the capacity must be a positive integer", () => {
  for (const bad of [0, -1, 1.5, NaN]) {
    assert.throws(() => new EventRing(bad), /capacity must be a positive integer/);
  }
});
