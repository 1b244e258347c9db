import assert from "node:assert/strict";
import { join } from "node:path";
import { syncDirectory, syncFileData } from "./data_dir.ts";

Deno.test("concurrent directory and file syncs share fsyncs and all resolve", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "log.txt");
    await Deno.writeTextFile(file, "x\n");
    // 200 callers at once: every promise settles, none rejects.
    await Promise.all(Array.from({ length: 100 }, () => syncDirectory(file)));
    await Promise.all(Array.from({ length: 100 }, () => syncFileData(file)));
    // Sequential callers each get their own fsync.
    await syncDirectory(file);
    await syncFileData(file);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed sync rejects its callers and the next caller tries again", async () => {
  const missing = join(await Deno.makeTempDir(), "gone", "log.txt");
  await assert.rejects(syncFileData(missing), Deno.errors.NotFound);
  await assert.rejects(syncDirectory(missing), Deno.errors.NotFound);
  await assert.rejects(syncFileData(missing), Deno.errors.NotFound);
});
