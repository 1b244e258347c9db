import assert from "node:assert/strict";
import { join } from "node:path";
import { deferred } from "../internal/deferred.ts";
import { Disk, DISK_OPS_IN_FLIGHT } from "./disk.ts";

Deno.test("Disk: at most DISK_OPS_IN_FLIGHT operations run at once; all of them run, in order", async () => {
  const disk = new Disk();
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const ops = Array.from({ length: DISK_OPS_IN_FLIGHT * 5 }, (_, i) =>
    disk.run(async () => {
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

Deno.test("Disk: a failing operation gives its turn back", async () => {
  const disk = new Disk();
  const failures = Array.from(
    { length: DISK_OPS_IN_FLIGHT * 2 },
    () => disk.run(() => Deno.stat("/no/such/path")).catch((e: unknown) => e),
  );
  for (const e of await Promise.all(failures)) assert.ok(e instanceof Deno.errors.NotFound);
  assert.equal(await disk.run(() => Promise.resolve("still served")), "still served");
});

Deno.test("Disk: beside other operations, the caller resumes in a new task, after due timers", async () => {
  const disk = new Disk();
  let timerRan = false;
  let finish!: () => void;
  const other = disk.run(() => new Promise<void>((resolve) => finish = resolve));
  const value = await disk.run(() => {
    setTimeout(() => (timerRan = true), 0);
    return Promise.resolve("done");
  });
  assert.equal(value, "done");
  assert.equal(timerRan, true, "resumed straight from the operation, ahead of the event loop");
  finish();
  await other;
});

Deno.test("Disk: alone, the caller resumes at once", async () => {
  const disk = new Disk();
  let timerRan = false;
  await disk.run(() => {
    setTimeout(() => (timerRan = true), 0);
    return Promise.resolve();
  });
  assert.equal(timerRan, false, "no timer's wait for an operation that starves nothing");
  await new Promise((resolve) => setTimeout(resolve, 0));
});

Deno.test("Disk: two disks share no turns", async () => {
  const busy = new Disk();
  const held = deferred<void>();
  const holding = Array.from({ length: DISK_OPS_IN_FLIGHT }, () => busy.run(() => held.promise));
  assert.equal(busy.inFlight, DISK_OPS_IN_FLIGHT);
  // Every turn of `busy` is taken; another disk still runs at once.
  assert.equal(await new Disk().run(() => Promise.resolve("served")), "served");
  held.resolve();
  await Promise.all(holding);
  assert.equal(busy.inFlight, 0);
});

Deno.test("Disk: concurrent directory and file syncs share fsyncs and all resolve", async () => {
  const disk = new Disk();
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "log.txt");
    await Deno.writeTextFile(file, "x\n");
    // 200 callers at once: every promise settles, none rejects.
    await Promise.all(Array.from({ length: 100 }, () => disk.syncDirectory(file)));
    await Promise.all(Array.from({ length: 100 }, () => disk.syncFileData(file)));
    // Sequential callers each get their own fsync.
    await disk.syncDirectory(file);
    await disk.syncFileData(file);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Disk: a hundred syncs of one directory at once take two fsyncs", async () => {
  const disk = new Disk();
  const dir = await Deno.makeTempDir();
  const open = Deno.open;
  let opens = 0;
  Deno.open = (path, options) => {
    if (path === dir) opens++;
    return open(path, options);
  };
  try {
    const first = disk.syncDirectory(join(dir, "a"));
    // The first fsync has started once a macrotask has passed; the rest share the next.
    await new Promise((resolve) => setTimeout(resolve, 0));
    await Promise.all([
      first,
      ...Array.from({ length: 99 }, () => disk.syncDirectory(join(dir, "b"))),
    ]);
    assert.equal(opens, 2);
  } finally {
    Deno.open = open;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Disk: a failed sync rejects its callers and the next caller tries again", async () => {
  const disk = new Disk();
  const missing = join(await Deno.makeTempDir(), "gone", "log.txt");
  await assert.rejects(disk.syncFileData(missing), Deno.errors.NotFound);
  await assert.rejects(disk.syncDirectory(missing), Deno.errors.NotFound);
  await assert.rejects(disk.syncFileData(missing), Deno.errors.NotFound);
});

Deno.test("Disk: stat says undefined for a missing path and throws other errors", async () => {
  const disk = new Disk();
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await disk.stat(join(dir, "none")), undefined);
    assert.equal((await disk.stat(dir))?.isDirectory, true);
    await Deno.writeTextFile(join(dir, "file"), "x");
    // A path through a file is not "missing": it is an error of its own.
    await assert.rejects(disk.stat(join(dir, "file", "below")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
