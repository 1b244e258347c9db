import assert from "node:assert/strict";
import { compute, divideToDecimal, isOperation } from "./compute.ts";

Deno.test("average rounds half away from zero and drops trailing zeros", () => {
  assert.equal(divideToDecimal(10n, 4n, 6), "2.5");
  assert.equal(divideToDecimal(-10n, 4n, 6), "-2.5");
  assert.equal(divideToDecimal(2n, 3n, 6), "0.666667");
  assert.equal(divideToDecimal(-2n, 3n, 6), "-0.666667");
  assert.equal(divideToDecimal(1n, 2_000_000_0n, 6), "0");
  assert.equal(divideToDecimal(-1n, 2_000_000_0n, 6), "0");
  assert.equal(divideToDecimal(12n, 3n, 6), "4");
  assert.equal(divideToDecimal(10n ** 30n + 1n, 1n, 6), "1000000000000000000000000000001");
});

Deno.test("compute answers all four operations", () => {
  const agg = { count: 4, sum: 12n, min: -3, max: 10 };
  assert.equal(compute("SUM", agg), "12");
  assert.equal(compute("AVERAGE", agg), "3");
  assert.equal(compute("MAX", agg), "10");
  assert.equal(compute("MIN", agg), "-3");
});

Deno.test("only the four upper-case operation names are operations", () => {
  assert.ok(isOperation("SUM"));
  assert.ok(!isOperation("sum"));
  assert.ok(!isOperation("MEDIAN"));
});
