import assert from "node:assert/strict";
import { ManualClock } from "../../internal/clock.ts";
import { HOUR_WINDOW_BUCKET_MS, HOUR_WINDOW_MINUTES, HourWindow } from "./hour_window.ts";

const MINUTE = HOUR_WINDOW_BUCKET_MS;
const HOUR = HOUR_WINDOW_MINUTES * MINUTE;

Deno.test("hour window: what was added stays until its minute is an hour old, then leaves", () => {
  const start = 28_333_333 * MINUTE; // a minute's start
  const clock = new ManualClock(start + MINUTE / 2); // half a minute into it
  const window = new HourWindow();
  assert.equal(window.total(clock.now()), 0);
  window.add(clock.now(), 100);
  window.add(clock.now());
  assert.equal(window.total(clock.now()), 101);
  clock.advance(MINUTE);
  window.add(clock.now(), 10);
  clock.advance(start + HOUR - 1 - clock.now()); // the last ms of the first minute's hour
  assert.equal(window.total(clock.now()), 111);
  clock.advance(1); // the first minute began an hour ago: it has left
  assert.equal(window.total(clock.now()), 10);
  clock.advance(MINUTE);
  assert.equal(window.total(clock.now()), 0);
});

Deno.test("hour window: a bucket reused an hour later starts from zero", () => {
  const clock = new ManualClock(0);
  const window = new HourWindow();
  window.add(clock.now(), 7);
  clock.advance(HOUR); // the same slot of the ring, a new minute
  window.add(clock.now(), 2);
  assert.equal(window.total(clock.now()), 2);
  // Long idle: nothing of before counts, the ring is never walked to clear it.
  clock.advance(5 * HOUR + 3 * MINUTE);
  assert.equal(window.total(clock.now()), 0);
  window.add(clock.now(), 4);
  assert.equal(window.total(clock.now()), 4);
});

Deno.test("hour window: a steady rate sums to an hour of it", () => {
  const clock = new ManualClock(0);
  const window = new HourWindow();
  // One a second for three hours: the last hour always holds 59 minutes of them and the
  // part of the current minute gone by, 3,540..3,600.
  for (let second = 0; second < 3 * 3_600; second++) {
    window.add(clock.now());
    clock.advance(1_000);
    if (second >= 3_600) {
      const total = window.total(clock.now());
      assert.ok(total >= 3_540 && total <= 3_600, `${total} at second ${second}`);
    }
  }
});

Deno.test("hour window: a clock set back a little counts in the earlier minute", () => {
  const window = new HourWindow();
  window.add(10 * MINUTE, 1);
  window.add(9 * MINUTE, 2); // a step back (NTP): its own minute's bucket
  assert.equal(window.total(10 * MINUTE), 3);
  assert.equal(window.total(9 * MINUTE + HOUR), 1);
});
