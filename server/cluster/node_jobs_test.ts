import assert from "node:assert/strict";
import { ManualClock } from "../../internal/clock.ts";
import type { NodeJobQueue, QueuedNodeJob } from "../store/postgres/node_jobs.ts";
import { encodeNodeJob } from "./node_job.ts";
import { NODE_JOB_BATCH, NODE_JOB_POLL_MS, NodeJobs } from "./node_jobs.ts";

/** A queue of jobs in memory, with a channel the test notifies and re-listens on. */
function harness(options: { failing?: Set<number>; listenFails?: boolean } = {}) {
  const rows: QueuedNodeJob[] = [];
  let nextId = 1;
  const dropped: { device: string; fileID: number }[] = [];
  const logged: string[] = [];
  const clock = new ManualClock(0);
  let channel: { onNotify: (payload: string) => void; onListen: () => void } | undefined;
  let listening = true;
  const queue: NodeJobQueue = {
    take(after, limit) {
      return Promise.resolve(rows.filter((r) => r.id > after).slice(0, limit));
    },
    done(id) {
      rows.splice(rows.findIndex((r) => r.id === id), 1);
      return Promise.resolve();
    },
  };
  const add = (fileID: number, kind = "remove_file") => {
    const row = encodeNodeJob({
      kind: "remove_file",
      device: "watch1",
      fileID,
      reason: "deleted",
      by: "a",
    });
    rows.push({ id: nextId++, ...row, kind, created: 0 });
  };
  const start = () =>
    NodeJobs.start({
      node: "b",
      queue,
      listen: (onNotify, onListen) => {
        if (options.listenFails) return Promise.reject(new Error("connection refused"));
        channel = { onNotify, onListen };
        onListen();
        return Promise.resolve({ unlisten: () => Promise.resolve(void (listening = false)) });
      },
      commits: {
        dropCopy: (device, fileID) => {
          if (options.failing?.has(fileID)) return Promise.reject(new Error("disk on fire"));
          dropped.push({ device, fileID });
          return Promise.resolve(true);
        },
      },
      log: (line) => logged.push(line),
      clock,
    });
  return {
    rows,
    add,
    dropped,
    logged,
    clock,
    start,
    notify: (payload: string) => channel!.onNotify(payload),
    relisten: () => channel!.onListen(),
    listening: () => listening,
  };
}

Deno.test("node jobs: the jobs waiting at start run, and each is removed once done", async () => {
  const h = harness();
  h.add(1);
  h.add(2);
  await using jobs = await h.start();
  await jobs.idle();
  assert.deepEqual(h.dropped.map((d) => d.fileID), [1, 2]);
  assert.deepEqual(h.rows, []);
  assert.deepEqual(h.logged, [
    "removed watch1's file 1 from uploads/: deleted through node a",
    "removed watch1's file 2 from uploads/: deleted through node a",
  ]);
});

Deno.test("node jobs: a NOTIFY naming this node wakes it; one naming another does not", async () => {
  const h = harness();
  await using jobs = await h.start();
  await jobs.idle();
  h.add(3);
  h.notify("a");
  await jobs.idle();
  assert.equal(h.dropped.length, 0, "another node's wake-up");
  h.notify("b");
  await jobs.idle();
  assert.deepEqual(h.dropped.map((d) => d.fileID), [3]);
});

Deno.test("node jobs: a job queued while the listener was down runs at the next LISTEN, or the poll", async () => {
  const h = harness();
  await using jobs = await h.start();
  await jobs.idle();
  h.add(4);
  h.relisten();
  await jobs.idle();
  assert.deepEqual(h.dropped.map((d) => d.fileID), [4]);
  // A NOTIFY lost without the listener noticing: the poll finds the row.
  h.add(5);
  h.clock.advance(NODE_JOB_POLL_MS - 1);
  await jobs.idle();
  assert.equal(h.dropped.length, 1);
  h.clock.advance(1);
  await jobs.idle();
  assert.deepEqual(h.dropped.map((d) => d.fileID), [4, 5]);
  h.add(6);
  h.clock.advance(NODE_JOB_POLL_MS);
  await jobs.idle();
  assert.deepEqual(h.dropped.map((d) => d.fileID), [4, 5, 6], "the poll goes on");
});

Deno.test("node jobs: a wake-up during a pass makes one more pass", async () => {
  const h = harness();
  await using jobs = await h.start();
  h.add(7); // queued after the start's pass read the (empty) table
  h.notify("b");
  await jobs.idle();
  assert.deepEqual(h.dropped.map((d) => d.fileID), [7]);
});

Deno.test("node jobs: more jobs than one batch all run", async () => {
  const h = harness();
  for (let i = 0; i < NODE_JOB_BATCH * 2 + 3; i++) h.add(i);
  await using jobs = await h.start();
  await jobs.idle();
  assert.equal(h.dropped.length, NODE_JOB_BATCH * 2 + 3);
  assert.deepEqual(h.rows, []);
});

Deno.test("node jobs: a failing job stays for the next wake-up; one this iotnet cannot run stays, logged once", async () => {
  const failing = new Set([8]);
  const h = harness({ failing });
  h.add(8);
  h.add(9, "compact");
  h.add(10);
  await using jobs = await h.start();
  await jobs.idle();
  assert.deepEqual(h.dropped.map((d) => d.fileID), [10], "the others did not stop it");
  assert.deepEqual(h.rows.map((r) => r.id), [1, 2]);
  failing.clear();
  h.notify("b");
  await jobs.idle();
  assert.deepEqual(h.dropped.map((d) => d.fileID), [10, 8]);
  assert.deepEqual(h.rows.map((r) => r.id), [2]);
  assert.deepEqual(h.logged.filter((l) => !l.startsWith("removed")), [
    "node job 1 failed, tried again later: disk on fire",
    'left node job 2 alone: unknown job kind "compact"',
  ]);
});

Deno.test("node jobs: closing stops listening and polling", async () => {
  const h = harness();
  const jobs = await h.start();
  await jobs.close();
  assert.equal(h.listening(), false);
  h.add(11);
  h.clock.advance(NODE_JOB_POLL_MS);
  h.notify("b");
  await jobs.idle();
  assert.deepEqual(h.dropped, []);
});

Deno.test("node jobs: without a listener the jobs still run, at start and by the poll", async () => {
  const h = harness({ listenFails: true });
  h.add(12);
  await using jobs = await h.start();
  await jobs.idle();
  assert.deepEqual(h.dropped.map((d) => d.fileID), [12]);
  assert.equal(h.logged[0], "cannot listen for this node's jobs: connection refused");
  h.add(13);
  h.clock.advance(NODE_JOB_POLL_MS);
  await jobs.idle();
  assert.deepEqual(h.dropped.map((d) => d.fileID), [12, 13]);
});
