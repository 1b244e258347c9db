import assert from "node:assert/strict";
import { ManualClock } from "../internal/clock.ts";
import { RateLimit } from "./rate_limit.ts";

Deno.test("RateLimit: a key spends its allowance at once, then gets one more every 60/perMinute s", () => {
  const clock = new ManualClock(1_000_000);
  const limit = new RateLimit(3, clock);
  assert.deepEqual([limit.take("a"), limit.take("a"), limit.take("a")], [0, 0, 0]);
  assert.equal(limit.take("a"), 20_000, "the next token is 20 s away");
  assert.equal(limit.take("b"), 0, "another key has its own allowance");
  clock.advance(19_999);
  assert.equal(limit.take("a"), 1);
  clock.advance(1);
  assert.equal(limit.take("a"), 0);
  assert.equal(limit.take("a"), 20_000, "a refused attempt counted nothing");
  // A minute untouched refills it, but never past the allowance.
  clock.advance(10 * 60_000);
  assert.deepEqual([limit.take("a"), limit.take("a"), limit.take("a")], [0, 0, 0]);
  assert.ok(limit.take("a") > 0);
});

Deno.test("RateLimit: past maxKeys the key untouched longest is forgotten", () => {
  const clock = new ManualClock();
  const limit = new RateLimit(1, clock, 2);
  assert.equal(limit.take("a"), 0);
  assert.equal(limit.take("b"), 0);
  assert.ok(limit.take("a") > 0); // refused: touches nothing
  assert.equal(limit.take("c"), 0); // forgets "a", the least recently counted
  assert.equal(limit.take("a"), 0);
  assert.ok(limit.take("c") > 0, "c is remembered");
});

Deno.test("RateLimit: refuses a rate below 1", () => {
  assert.throws(() => new RateLimit(0, new ManualClock()), RangeError);
});
