import assert from "node:assert/strict";
import { deferred } from "./deferred.ts";
import { KeyedLock } from "./keyed_lock.ts";

Deno.test("KeyedLock: work on one key runs one at a time, in the order it asked", async () => {
  const lock = new KeyedLock();
  const order: number[] = [];
  let inside = 0;
  let most = 0;
  await Promise.all(Array.from({ length: 20 }, (_, i) =>
    lock.run("file", async () => {
      most = Math.max(most, ++inside);
      order.push(i);
      await new Promise((resolve) => setTimeout(resolve, i % 3));
      inside--;
    })));
  assert.equal(most, 1);
  assert.deepEqual(order, Array.from({ length: 20 }, (_, i) => i));
});

Deno.test("KeyedLock: different keys never wait for each other", async () => {
  const lock = new KeyedLock();
  const held = deferred<void>();
  const a = lock.run("a", () => held.promise);
  // "b" runs to the end while "a" is still held.
  assert.equal(await lock.run("b", () => Promise.resolve("b done")), "b done");
  assert.equal(lock.size, 1);
  held.resolve();
  await a;
});

Deno.test("KeyedLock: a failing holder passes the key on and its caller gets the error", async () => {
  const lock = new KeyedLock<number>();
  const failing = lock.run(1, () => Promise.reject(new Error("disk full")));
  const next = lock.run(1, () => Promise.resolve("served"));
  await assert.rejects(failing, /disk full/);
  assert.equal(await next, "served");
});

Deno.test("KeyedLock: keys are forgotten once nobody holds or waits for them", async () => {
  const lock = new KeyedLock();
  const first = deferred<void>();
  const runs = [lock.run("x", () => first.promise), lock.run("x", () => Promise.resolve())];
  assert.equal(lock.size, 1);
  first.resolve();
  await Promise.all(runs);
  assert.equal(lock.size, 0);
  await Promise.all(
    Array.from({ length: 100 }, (_, i) => lock.run(`k${i}`, () => Promise.resolve())),
  );
  assert.equal(lock.size, 0);
});
