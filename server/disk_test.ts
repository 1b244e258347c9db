import assert from "node:assert/strict";
import { DISK_OPS_IN_FLIGHT, onDisk } from "./disk.ts";

Deno.test("onDisk: at most DISK_OPS_IN_FLIGHT operations run at once; all of them run, in order", async () => {
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const ops = Array.from({ length: DISK_OPS_IN_FLIGHT * 5 }, (_, i) =>
    onDisk(async () => {
      started.push(i);
      most = Math.max(most, ++running);
      await Deno.stat(".");
      running--;
      return i;
    }));
  assert.deepEqual(await Promise.all(ops), ops.map((_, i) => i));
  assert.equal(most, DISK_OPS_IN_FLIGHT);
  assert.deepEqual(started, ops.map((_, i) => i));
});

Deno.test("onDisk: a failing operation gives its turn back", async () => {
  const failures = Array.from(
    { length: DISK_OPS_IN_FLIGHT * 2 },
    () => onDisk(() => Deno.stat("/no/such/path")).catch((e) => e),
  );
  for (const e of await Promise.all(failures)) assert.ok(e instanceof Deno.errors.NotFound);
  assert.equal(await onDisk(() => Promise.resolve("still served")), "still served");
});

Deno.test("onDisk: beside other operations, the caller resumes in a new task, after due timers", async () => {
  let timerRan = false;
  let finish!: () => void;
  const other = onDisk(() => new Promise<void>((resolve) => finish = resolve));
  const value = await onDisk(() => {
    setTimeout(() => (timerRan = true), 0);
    return Promise.resolve("done");
  });
  assert.equal(value, "done");
  assert.equal(timerRan, true, "resumed straight from the operation, ahead of the event loop");
  finish();
  await other;
});

Deno.test("onDisk: alone, the caller resumes at once", async () => {
  let timerRan = false;
  await onDisk(() => {
    setTimeout(() => (timerRan = true), 0);
    return Promise.resolve();
  });
  assert.equal(timerRan, false, "no timer's wait for an operation that starves nothing");
  await new Promise((resolve) => setTimeout(resolve, 0));
});
