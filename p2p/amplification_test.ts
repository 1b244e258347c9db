import assert from "node:assert/strict";
import { AmplificationLimiter, MAX_TRACKED_ADDRESSES } from "./amplification.ts";

Deno.test("an unvalidated address gets at most 3× what it sent", () => {
  const a = new AmplificationLimiter(3);
  assert.equal(a.trySend("x:1", 1), false);
  a.received("x:1", 100);
  assert.equal(a.trySend("x:1", 200), true);
  assert.equal(a.trySend("x:1", 101), false);
  assert.equal(a.trySend("x:1", 100), true);
  assert.deepEqual(a.usage("x:1"), { received: 100, sent: 300 });
});

Deno.test("budgets are per address and the table is bounded", () => {
  const a = new AmplificationLimiter(3);
  a.received("x:1", 10);
  assert.equal(a.trySend("x:2", 1), false);
  for (let i = 0; i < MAX_TRACKED_ADDRESSES + 10; i++) a.received(`h:${i}`, 1);
  assert.deepEqual(a.usage("x:1"), { received: 0, sent: 0 });
});
