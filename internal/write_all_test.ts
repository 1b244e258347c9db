import assert from "node:assert/strict";
import { writeAll } from "./write_all.ts";

/** A writer that takes at most `most` bytes per call and records the calls. */
function shortWriter(most: number) {
  const received: number[] = [];
  let calls = 0;
  return {
    received,
    get calls() {
      return calls;
    },
    write(bytes: Uint8Array): Promise<number> {
      calls++;
      const n = Math.min(most, bytes.length);
      received.push(...bytes.subarray(0, n));
      return Promise.resolve(n);
    },
  };
}

Deno.test("writeAll: short writes are continued until every byte is written, in order", async () => {
  const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
  const writer = shortWriter(7);
  await writeAll(writer, bytes);
  assert.deepEqual(writer.received, [...bytes]);
  assert.equal(writer.calls, Math.ceil(1000 / 7));
});

Deno.test("writeAll: a writer that takes everything is called once; nothing to write, never", async () => {
  const writer = shortWriter(Infinity);
  await writeAll(writer, new Uint8Array(64));
  assert.equal(writer.calls, 1);
  await writeAll(writer, new Uint8Array(0));
  assert.equal(writer.calls, 1);
});

Deno.test("writeAll: a failing write rejects, and nothing after it is written", async () => {
  let calls = 0;
  const writer = {
    write(bytes: Uint8Array): Promise<number> {
      if (++calls === 2) return Promise.reject(new Error("broken pipe"));
      return Promise.resolve(Math.min(3, bytes.length));
    },
  };
  await assert.rejects(writeAll(writer, new Uint8Array(10)), /broken pipe/);
  assert.equal(calls, 2);
});

Deno.test("writeAll: writes a whole file through Deno.FsFile", async () => {
  const path = await Deno.makeTempFile();
  try {
    const bytes = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31) % 256);
    {
      using file = await Deno.open(path, { write: true });
      await writeAll(file, bytes);
    }
    assert.deepEqual(await Deno.readFile(path), bytes);
  } finally {
    await Deno.remove(path);
  }
});
