import assert from "node:assert/strict";
import { RECONNECT_FIRST_MS, RECONNECT_MAX_MS, reconnectDelayMs } from "./reconnect_backoff.ts";

Deno.test("the waits double from 1 s and stop growing at 30 s", () => {
  const top = () => 0;
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 100].map((n) => reconnectDelayMs(n, top)),
    [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000],
  );
});

Deno.test("jitter spreads each wait over its lower fifth, never outside 1 s..30 s", () => {
  for (let attempt = 1; attempt <= 20; attempt++) {
    const spread = new Set<number>();
    for (const r of [0, 0.25, 0.5, 0.75, 0.999]) {
      const ms = reconnectDelayMs(attempt, () => r);
      assert.ok(ms >= RECONNECT_FIRST_MS && ms <= RECONNECT_MAX_MS, `${attempt}: ${ms}`);
      spread.add(ms);
    }
    if (attempt > 1) assert.ok(spread.size > 1, `attempt ${attempt} has jitter`);
  }
  assert.equal(reconnectDelayMs(6, () => 0.999), 24_006);
});
