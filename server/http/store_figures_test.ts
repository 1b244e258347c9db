import assert from "node:assert/strict";
import { ManualClock } from "../../internal/clock.ts";
import {
  MAX_COUNTED_LOCKOUTS,
  readStoreFigures,
  STORE_FIGURES_MS,
  type StoreFigures,
  StoreFiguresCache,
} from "./store_figures.ts";

/** Figures whose `accounts` is the read's number. */
function figures(n: number, at: number): StoreFigures {
  return {
    accounts: n,
    storedFiles: 0,
    storedSamples: 0,
    storedBytes: 0,
    offlineMessages: 0,
    lockouts: 0,
    lockoutsMore: false,
    at,
  };
}

/** A cache over reads the test settles one by one. */
function harness() {
  const clock = new ManualClock(1_000_000);
  const reads: PromiseWithResolvers<StoreFigures>[] = [];
  const errors: string[] = [];
  const cache = new StoreFiguresCache(clock, () => {
    const read = Promise.withResolvers<StoreFigures>();
    reads.push(read);
    return read.promise;
  }, (message) => errors.push(message));
  return { clock, reads, errors, cache };
}

Deno.test("store figures: read when asked, once at a time, at most every STORE_FIGURES_MS", async () => {
  const { clock, reads, cache } = harness();
  assert.equal(reads.length, 0, "nothing is read until asked");
  assert.equal(cache.latest(), undefined);
  assert.equal(cache.latest(), undefined);
  assert.equal(reads.length, 1, "one read under way serves everyone");
  reads[0]!.resolve(figures(1, clock.now()));
  assert.equal((await cache.current())?.accounts, 1);
  clock.advance(STORE_FIGURES_MS - 1);
  assert.equal(cache.latest()?.accounts, 1);
  assert.equal(reads.length, 1, "not read again before STORE_FIGURES_MS");
  clock.advance(1);
  assert.equal(cache.latest()?.accounts, 1, "the last figures while the new read runs");
  assert.equal(reads.length, 2);
  // A scrape waits for the read under way rather than showing old figures.
  const current = cache.current();
  reads[1]!.resolve(figures(2, clock.now()));
  assert.equal((await current)?.accounts, 2);
  assert.equal(reads.length, 2);
});

Deno.test("store figures: a failed read is reported and the last figures stay", async () => {
  const { clock, reads, errors, cache } = harness();
  cache.latest();
  reads[0]!.resolve(figures(1, clock.now()));
  await cache.current();
  clock.advance(STORE_FIGURES_MS);
  const current = cache.current();
  reads[1]!.reject(new Error("connection refused\n    at somewhere"));
  assert.equal((await current)?.accounts, 1);
  assert.deepEqual(errors, ["connection refused"]);
  // Tried again only after STORE_FIGURES_MS.
  cache.latest();
  assert.equal(reads.length, 2);
  clock.advance(STORE_FIGURES_MS);
  cache.latest();
  assert.equal(reads.length, 3);
});

Deno.test("store figures: read from the store and the accounts, lockouts counted up to a cap", async () => {
  const limits: number[] = [];
  const read = (running: number) =>
    readStoreFigures({
      files: { totals: () => Promise.resolve({ files: 3, samples: 300, bytes: 3_000 }) },
      mailbox: { waiting: () => Promise.resolve(4) },
      lockouts: {
        running: (_now, limit) => {
          limits.push(limit);
          return Promise.resolve(Math.min(running, limit));
        },
      },
      accounts: () => Promise.resolve(5),
    }, 77);
  assert.deepEqual(await read(2), {
    accounts: 5,
    storedFiles: 3,
    storedSamples: 300,
    storedBytes: 3_000,
    offlineMessages: 4,
    lockouts: 2,
    lockoutsMore: false,
    at: 77,
  });
  assert.deepEqual(limits, [MAX_COUNTED_LOCKOUTS + 1]);
  const many = await read(MAX_COUNTED_LOCKOUTS + 50);
  assert.equal(many.lockouts, MAX_COUNTED_LOCKOUTS);
  assert.equal(many.lockoutsMore, true);
  const exactly = await read(MAX_COUNTED_LOCKOUTS);
  assert.equal(exactly.lockoutsMore, false);
});
