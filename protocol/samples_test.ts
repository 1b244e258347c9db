import assert from "node:assert/strict";
import { InvalidSamplesError, SampleAggregator } from "./samples.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

function aggregate(text: string, splitEvery = 0) {
  const agg = new SampleAggregator();
  const data = bytes(text);
  if (splitEvery === 0) agg.push(data);
  else for (let i = 0; i < data.length; i += splitEvery) agg.push(data.subarray(i, i + splitEvery));
  return agg.finish();
}

Deno.test("aggregator computes count, exact sum, min and max", () => {
  assert.deepEqual(aggregate("5\n-3\n10\n0\n"), { count: 4, sum: 12n, min: -3, max: 10 });
  assert.deepEqual(aggregate("7"), { count: 1, sum: 7n, min: 7, max: 7 });
  assert.deepEqual(aggregate("1\r\n2\r\n"), { count: 2, sum: 3n, min: 1, max: 2 });
  assert.deepEqual(aggregate("007\n-0\n"), { count: 2, sum: 7n, min: 0, max: 7 });
});

Deno.test("aggregator gives the same result for every chunking", () => {
  const text = "123\n-45\r\n6789\n-1\n999999999999999\n";
  const whole = aggregate(text);
  for (let every = 1; every <= text.length; every++) {
    assert.deepEqual(aggregate(text, every), whole, `chunks of ${every}`);
  }
});

Deno.test("sum stays exact past 2^53", () => {
  const big = 999_999_999_999_999;
  const lines = Array.from({ length: 20 }, () => String(big)).join("\n");
  assert.equal(aggregate(lines).sum, BigInt(big) * 20n);
  const mixed = Array.from({ length: 20 }, (_, i) => (i % 2 ? "-" : "") + big).join("\n");
  assert.equal(aggregate(mixed + "\n1").sum, 1n);
});

Deno.test("aggregator names the line of each kind of bad content", () => {
  const cases: [string, number, RegExp][] = [
    ["1\n\n2\n", 2, /line 2 is blank/],
    ["1\n2.5\n", 2, /line 2 has '\.' after a number/],
    ["abc\n", 1, /line 1 starts with 'a', not an integer/],
    ["1\n 2\n", 2, /line 2 starts with ' '/],
    ["+4\n", 1, /starts with '\+'/],
    ["4-\n", 1, /'-' that is not at its start/],
    ["--4\n", 1, /'-' that is not at its start/],
    ["-\n", 1, /lone '-'/],
    ["1\r2\n", 1, /carriage return/],
    ["1\n2\n-", 3, /ends in the middle/],
    ["1234567890123456\n", 1, /more than 15 digits/],
    ["", 1, /holds no samples/],
    ["\n", 1, /is blank/],
    ["1\n\x00\n", 2, /byte 0x00/],
  ];
  for (const [text, line, pattern] of cases) {
    assert.throws(() => aggregate(text), (e: unknown) => {
      assert.ok(e instanceof InvalidSamplesError, JSON.stringify(text));
      assert.equal(e.line, line, JSON.stringify(text));
      assert.match(e.message, pattern);
      return true;
    });
  }
});
