/**
 * A big upload's way to disk: appends made on the event loop after the first write, and
 * the flushes started every `UPLOAD_FLUSH_BYTES` while it streams in
 * (server/commands/upload.ts). What must hold whatever the writes and flushes do: the
 * stored file is the bytes sent, and its aggregates are exact.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { randomSampleLines } from "../client/generate.ts";
import { UPLOAD_FLUSH_BYTES } from "../server/commands/upload.ts";
import { memorySource } from "./_helpers/files.ts";
import { TestServer } from "./_helpers/in_process_server.ts";
import { listDir } from "./_helpers/wait.ts";

Deno.test("an upload past two flushes is stored byte for byte, its sum exact", async () => {
  // One block of random lines of every length (about 1 MB, no round size), repeated: write
  // batches and frames cut lines anywhere.
  const block = new TextEncoder().encode(randomSampleLines(100_000));
  const blockSum = new TextDecoder().decode(block).split("\n").slice(0, -1)
    .reduce((n, line) => n + BigInt(line), 0n);
  const copies = Math.ceil(2.5 * UPLOAD_FLUSH_BYTES / block.length);
  const bytes = new Uint8Array(block.length * copies);
  for (let i = 0; i < copies; i++) bytes.set(block, i * block.length);

  await using server = await TestServer.start();
  const edge = await server.login("watch1");
  const result = await edge.connection.upload(3, memorySource(bytes), bytes.length);
  assert.deepEqual(result, { fileID: 3, dataAmount: 100_000 * copies });
  const stored = await Deno.readFile(join(server.dataDir, "uploads", "watch1-3.txt"));
  const digest = async (b: Uint8Array) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
  assert.equal(stored.length, bytes.length);
  assert.deepEqual(await digest(stored), await digest(bytes), "the stored file differs");
  assert.deepEqual(
    await edge.connection.request("compute", { fileID: 3, operation: "SUM" }),
    { op: "SUM", result: String(blockSum * BigInt(copies)) },
  );
  assert.deepEqual(await listDir(join(server.dataDir, "uploads")), ["watch1-3.txt"]);
});
