import assert from "node:assert/strict";
import { LossModel, mulberry32 } from "./loss_model.ts";

Deno.test("mulberry32 is deterministic for a seed and differs across seeds", () => {
  const a = mulberry32(1);
  const b = mulberry32(1);
  const c = mulberry32(2);
  const xs = Array.from({ length: 5 }, () => a());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c()));
  for (const x of xs) assert.ok(x >= 0 && x < 1);
});

Deno.test("LossModel decisions repeat for the same seed and match the rates", () => {
  const cfg = { seed: 42, loss: 0.25, duplicate: 0.1, reorder: 0.1, reorderMs: 4 };
  const m1 = new LossModel(cfg);
  const m2 = new LossModel(cfg);
  const d1 = Array.from({ length: 20_000 }, () => m1.decide());
  const d2 = Array.from({ length: 20_000 }, () => m2.decide());
  assert.deepEqual(d1, d2);
  const dropRate = m1.counters.dropped / m1.counters.seen;
  assert.ok(Math.abs(dropRate - 0.25) < 0.02, `drop rate ${dropRate}`);
  assert.ok(m1.counters.duplicated > 1000);
  assert.ok(m1.counters.reordered > 1000);
});

Deno.test("LossModel with no impairments delivers every datagram once without delay", () => {
  const m = new LossModel({ seed: 1 });
  for (let i = 0; i < 100; i++) assert.deepEqual(m.decide(), [0]);
});
