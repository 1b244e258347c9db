import assert from "node:assert/strict";
import { checkFilePlot, MAX_PLOT_BUCKETS, PlotSummary } from "./plot_summary.ts";

/** Min/max per bucket of `width`, the slow obvious way. */
function expected(samples: number[], width: number) {
  const min: number[] = [];
  const max: number[] = [];
  for (let i = 0; i < samples.length; i += width) {
    const part = samples.slice(i, i + width);
    min.push(Math.min(...part));
    max.push(Math.max(...part));
  }
  return { width, count: samples.length, min, max };
}

Deno.test("plot summary: fewer samples than buckets keeps every sample", () => {
  const plot = new PlotSummary();
  for (const v of [3, -1, 4]) plot.add(v);
  assert.deepEqual(plot.finish(), { width: 1, count: 3, min: [3, -1, 4], max: [3, -1, 4] });
});

Deno.test("plot summary: merging pairs equals bucketing by the final width, at every size", () => {
  for (let n = 1; n <= 70; n++) {
    const samples = Array.from({ length: n }, (_, i) => ((i * 7919) % 23) - 11);
    const plot = new PlotSummary(8);
    for (const v of samples) plot.add(v);
    const got = plot.finish();
    assert.ok(got.min.length <= 8, `n=${n}: ${got.min.length} buckets`);
    assert.deepEqual(got, expected(samples, got.width), `n=${n}`);
  }
});

Deno.test("plot summary: a one-sample spike in a million samples survives", () => {
  const plot = new PlotSummary();
  const spikeAt = 654_321;
  for (let i = 0; i < 1_000_000; i++) plot.add(i === spikeAt ? 4_000_000 : i === 17 ? -4_000 : 0);
  const got = plot.finish();
  assert.equal(got.count, 1_000_000);
  assert.ok(got.min.length <= MAX_PLOT_BUCKETS);
  assert.equal(got.width, 512);
  assert.equal(Math.max(...got.max), 4_000_000);
  assert.equal(got.max[Math.floor(spikeAt / got.width)], 4_000_000);
  assert.equal(got.min[0], -4_000);
});

Deno.test("plot summary: an odd or tiny capacity is refused", () => {
  assert.throws(() => new PlotSummary(3), RangeError);
  assert.throws(() => new PlotSummary(0), RangeError);
});

Deno.test("plot summary: a malformed stored summary is refused with a message", () => {
  assert.throws(() => checkFilePlot({ width: 1, count: 1, min: [1] }), /malformed/);
  assert.throws(() => checkFilePlot(null), /malformed/);
  const ok = { width: 1, count: 1, min: [1], max: [1] };
  assert.deepEqual(checkFilePlot(ok), ok);
});
