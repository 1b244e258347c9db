import assert from "node:assert/strict";
import { Coalesced } from "./coalesced.ts";
import { type Deferred, deferred } from "./deferred.ts";

/** A task whose runs the test finishes by hand; each run reports what it found waiting. */
function manualTask() {
  const runs: Deferred<string[]>[] = [];
  let waiting: string[] = [];
  const task = new Coalesced(() => {
    const taken = waiting;
    waiting = [];
    const run = deferred<string[]>();
    runs.push(run);
    return run.promise.then(() => taken);
  });
  return {
    task,
    runs,
    ask(item: string): Promise<string[]> {
      waiting.push(item);
      return task.run();
    },
  };
}

/** Lets every pending microtask and due timer run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("Coalesced: callers in one synchronous stretch share one run", async () => {
  const m = manualTask();
  const asked = ["a", "b", "c"].map((item) => m.ask(item));
  assert.equal(m.runs.length, 0, "the run starts on a later microtask");
  await settle();
  assert.equal(m.runs.length, 1);
  m.runs[0]!.resolve([]);
  for (const outcome of await Promise.all(asked)) assert.deepEqual(outcome, ["a", "b", "c"]);
});

Deno.test("Coalesced: callers during a run share the one queued behind it, never the running one", async () => {
  const m = manualTask();
  const first = m.ask("a");
  await settle();
  const later = [m.ask("b"), m.ask("c")];
  await settle();
  assert.equal(m.runs.length, 1, "the second run waits for the first");
  m.runs[0]!.resolve([]);
  assert.deepEqual(await first, ["a"]);
  await settle();
  assert.equal(m.runs.length, 2);
  m.runs[1]!.resolve([]);
  for (const outcome of await Promise.all(later)) assert.deepEqual(outcome, ["b", "c"]);
  assert.equal(m.task.busy, false);
});

Deno.test("Coalesced: a failed run rejects its callers only; the next run goes ahead", async () => {
  const m = manualTask();
  const failing = [m.ask("a"), m.ask("b")];
  await settle();
  const next = m.ask("c");
  m.runs[0]!.reject(new Error("disk full"));
  for (const outcome of await Promise.allSettled(failing)) {
    assert.equal(outcome.status, "rejected");
  }
  await settle();
  m.runs[1]!.resolve([]);
  assert.deepEqual(await next, ["c"]);
});

Deno.test("Coalesced: a task that throws at once rejects its callers like a failed run", async () => {
  let calls = 0;
  const task = new Coalesced<number>(() => {
    if (++calls === 1) throw new Error("cannot open");
    return Promise.resolve(calls);
  });
  await assert.rejects(task.run(), /cannot open/);
  assert.equal(await task.run(), 2);
});

Deno.test("Coalesced: a thousand callers while one run is in progress cost two runs", async () => {
  let runs = 0;
  let release!: () => void;
  const task = new Coalesced(async () => {
    runs++;
    if (runs === 1) await new Promise<void>((resolve) => release = resolve);
  });
  const first = task.run();
  await settle();
  const rest = Array.from({ length: 1000 }, () => task.run());
  release();
  await Promise.all([first, ...rest]);
  assert.equal(runs, 2);
});
