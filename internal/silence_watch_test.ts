import assert from "node:assert/strict";
import { ManualClock } from "./clock.ts";
import { SilenceWatch, type SilenceWatchOptions } from "./silence_watch.ts";

function watched(extra: Partial<SilenceWatchOptions> = {}) {
  const clock = new ManualClock();
  const seen: string[] = [];
  const watch = new SilenceWatch({
    clock,
    intervalMs: 1_000,
    onQuiet: () => seen.push(`quiet ${clock.now()}`),
    onDead: (silent) => seen.push(`dead ${clock.now()} after ${silent}`),
    ...extra,
  });
  return { clock, seen, watch };
}

Deno.test("a silent peer is pinged each interval and given up after three", () => {
  const { clock, seen } = watched();
  clock.advance(10_000);
  assert.deepEqual(seen, ["quiet 1000", "quiet 2000", "dead 3000 after 3000"]);
  assert.equal(clock.pending, 0, "no timer is left after the peer is given up");
});

Deno.test("traffic moves the deadlines: the peer is quiet one interval after it was last heard", () => {
  const { clock, seen, watch } = watched();
  clock.advance(700);
  watch.heard();
  clock.advance(999);
  assert.deepEqual(seen, []);
  clock.advance(1);
  assert.deepEqual(seen, ["quiet 1700"]);
  watch.heard(); // the answer to the ping
  clock.advance(2_999);
  assert.deepEqual(seen, ["quiet 1700", "quiet 2700", "quiet 3700"]);
  clock.advance(1);
  assert.deepEqual(seen, ["quiet 1700", "quiet 2700", "quiet 3700", "dead 4700 after 3000"]);
});

Deno.test("a peer heard often is never pinged", () => {
  const { clock, seen, watch } = watched();
  for (let i = 0; i < 100; i++) {
    clock.advance(900);
    watch.heard();
  }
  assert.deepEqual(seen, []);
  watch.stop();
  assert.equal(clock.pending, 0);
});

Deno.test("silence while this side is not reading is excused", () => {
  let excused = true;
  const { clock, seen } = watched({ excused: () => excused });
  clock.advance(5_000);
  assert.deepEqual(seen, []);
  excused = false;
  clock.advance(3_000);
  assert.deepEqual(seen, ["quiet 6000", "quiet 7000", "dead 8000 after 3000"]);
});

Deno.test("an interval of 0 watches nothing", () => {
  const { clock, seen } = watched({ intervalMs: 0 });
  clock.advance(1_000_000);
  assert.deepEqual(seen, []);
  assert.equal(clock.pending, 0);
});
