import assert from "node:assert/strict";
import { ManualClock } from "../../internal/clock.ts";
import { EVENT_LOOP_PROBE_MS, EventLoopLag, LAG_WINDOW_SECONDS } from "./event_loop_lag.ts";
import { Histogram } from "./histogram.ts";

/**
 * A probe on a manual clock. The clock fires timers exactly when due; `busy.ms` is how far
 * the probe's time runs ahead of them, as a loop that was busy makes a timer fire late.
 */
function probe() {
  const clock = new ManualClock(0);
  const busy = { ms: 0 };
  const histogram = new Histogram([0.001, 0.01, 0.1]);
  const lag = new EventLoopLag(histogram, {
    time: {
      setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
      clearTimeout: (id) => clock.clearTimeout(id),
      now: () => clock.now() + busy.ms,
    },
  });
  return { clock, busy, histogram, lag };
}

Deno.test("event-loop lag: how late the probe fires goes to the histogram and the worst", () => {
  const { clock, busy, histogram, lag } = probe();
  lag.start();
  lag.start(); // once is enough
  clock.advance(EVENT_LOOP_PROBE_MS); // on time
  busy.ms = 50; // the next probe fires 50 ms after it was due
  clock.advance(EVENT_LOOP_PROBE_MS);
  const sample = histogram.sample();
  assert.equal(sample.count, 2);
  assert.deepEqual(sample.cumulative, [1, 1, 2]);
  assert.equal(sample.sum, 0.05);
  assert.equal(lag.worstMs(), 50);
  lag.stop();
  clock.advance(EVENT_LOOP_PROBE_MS * 10);
  assert.equal(histogram.sample().count, 2, "stopped: no more probes");
  assert.equal(clock.pending, 0);
});

Deno.test("event-loop lag: the worst is of the last seconds only", () => {
  const { clock, busy, histogram, lag } = probe();
  lag.start();
  busy.ms = 30;
  clock.advance(EVENT_LOOP_PROBE_MS);
  assert.equal(lag.worstMs(), 30);
  clock.advance((LAG_WINDOW_SECONDS - 1) * 1000);
  assert.equal(lag.worstMs(), 30, "still in the window");
  clock.advance(1000);
  assert.equal(lag.worstMs(), 0, "out of the window, and every probe since was on time");
  assert.equal(histogram.sample().count, 1 + (LAG_WINDOW_SECONDS * 1000) / EVENT_LOOP_PROBE_MS);
  lag.stop();
});
