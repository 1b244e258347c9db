import assert from "node:assert/strict";
import { BufferPool } from "./buffer_pool.ts";

Deno.test("BufferPool: a buffer given back is handed out again, whole", () => {
  const pool = new BufferPool(1024, 2);
  const a = pool.take();
  assert.equal(a.length, 1024);
  pool.give(a.subarray(0, 10)); // a part stands for its whole buffer
  assert.equal(pool.free, 1);
  const b = pool.take();
  assert.equal(b.buffer, a.buffer);
  assert.equal(b.length, 1024);
  assert.equal(pool.free, 0);
});

Deno.test("BufferPool: keeps at most `spare`, never the same buffer twice, never a stranger", () => {
  const pool = new BufferPool(64, 2);
  const [a, b, c] = [pool.take(), pool.take(), pool.take()];
  pool.give(a);
  pool.give(a);
  assert.equal(pool.free, 1);
  pool.give(new Uint8Array(65));
  assert.equal(pool.free, 1);
  pool.give(b);
  pool.give(c);
  assert.equal(pool.free, 2);
});
