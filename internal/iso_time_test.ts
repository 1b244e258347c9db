import assert from "node:assert/strict";
import { isoSeconds } from "./iso_time.ts";

Deno.test("times are ISO 8601 in UTC with a Z offset, milliseconds dropped", () => {
  assert.equal(isoSeconds(0), "1970-01-01T00:00:00Z");
  assert.equal(isoSeconds(Date.UTC(2026, 11, 5, 8, 52, 14, 500)), "2026-12-05T08:52:14Z");
  assert.equal(new Date(isoSeconds(1_764_924_734_000)).getTime(), 1_764_924_734_000);
});

Deno.test("a time no Date can hold is a RangeError, not a wrong string", () => {
  assert.throws(() => isoSeconds(Number.NaN), RangeError);
  assert.throws(() => isoSeconds(8.64e15 + 1), RangeError);
});
