import assert from "node:assert/strict";
import { ReplayWindow } from "./replay_window.ts";

Deno.test("ReplayWindow: each number is new once, in any order within the window", () => {
  const w = new ReplayWindow(8);
  for (const n of [0, 3, 1, 2, 10, 5]) {
    assert.equal(w.check(n), "new", `${n} first time`);
    w.accept(n);
    assert.equal(w.check(n), "seen", `${n} again`);
  }
  // 10 is the top: 3..10 are inside the window, 2 and below are too old.
  assert.equal(w.check(4), "new");
  assert.equal(w.check(3), "seen");
  assert.equal(w.check(2), "old");
  assert.equal(w.check(0), "old");
  assert.equal(w.check(11), "new");
});

Deno.test("ReplayWindow: sliding far ahead forgets nothing it should remember", () => {
  const w = new ReplayWindow(4);
  w.accept(1);
  w.accept(2);
  w.accept(1_000_000);
  assert.equal(w.check(999_997), "new", "slot of 1 reused for a number never seen");
  assert.equal(w.check(999_998), "new");
  assert.equal(w.check(999_996), "old");
  assert.equal(w.check(1_000_000), "seen");
  w.accept(2 ** 53 - 1);
  assert.equal(w.check(2 ** 53 - 1), "seen");
  assert.equal(w.check(2 ** 53 - 2), "new");
});

Deno.test("ReplayWindow: the size must be positive", () => {
  assert.throws(() => new ReplayWindow(0), RangeError);
});
