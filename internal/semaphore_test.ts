import assert from "node:assert/strict";
import { Semaphore } from "./semaphore.ts";

Deno.test("Semaphore: at most `size` holders; waiters are served first come, first served", async () => {
  const semaphore = new Semaphore(2);
  const a = await semaphore.acquire();
  const b = await semaphore.acquire();
  const order: string[] = [];
  const c = semaphore.acquire().then((p) => (order.push("c"), p));
  const d = semaphore.acquire().then((p) => (order.push("d"), p));
  await Promise.resolve();
  assert.deepEqual([semaphore.held, semaphore.waiting, order], [2, 2, []]);
  b.release();
  (await c).release();
  a.release();
  (await d).release();
  assert.deepEqual(order, ["c", "d"]);
  assert.deepEqual([semaphore.held, semaphore.waiting], [0, 0]);
});

Deno.test("Semaphore: a permit released twice frees one place only", async () => {
  const semaphore = new Semaphore(1);
  const a = await semaphore.acquire();
  a.release();
  a.release();
  await semaphore.acquire();
  let second = false;
  void semaphore.acquire().then(() => (second = true));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(second, false);
  assert.deepEqual([semaphore.held, semaphore.waiting], [1, 1]);
});

Deno.test("Semaphore: a newcomer does not overtake a waiter when a place frees up", async () => {
  const semaphore = new Semaphore(1);
  const a = await semaphore.acquire();
  const order: string[] = [];
  const waiter = semaphore.acquire().then((p) => (order.push("waiter"), p));
  a.release();
  const newcomer = semaphore.acquire().then((p) => (order.push("newcomer"), p));
  (await waiter).release();
  (await newcomer).release();
  assert.deepEqual(order, ["waiter", "newcomer"]);
});

Deno.test("Semaphore: refuses a size below one", () => {
  assert.throws(() => new Semaphore(0), RangeError);
  assert.throws(() => new Semaphore(1.5), RangeError);
});

Deno.test("Semaphore: an aborted wait leaves the line and takes no permit", async () => {
  const semaphore = new Semaphore(1);
  const a = await semaphore.acquire();
  const controller = new AbortController();
  const gaveUp = semaphore.acquire(controller.signal);
  let next = false;
  void semaphore.acquire().then((p) => (next = true, p));
  assert.equal(semaphore.waiting, 2);
  controller.abort(new Error("closed"));
  await assert.rejects(gaveUp, /closed/);
  assert.equal(semaphore.waiting, 1);
  a.release();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(next, true, "the permit went past the aborted waiter");
  await assert.rejects(semaphore.acquire(controller.signal), /closed/);
});
