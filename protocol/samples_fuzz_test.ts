/**
 * Property-based tests of the data-file aggregator (fast-check). Valid files, written in
 * every allowed way (LF or CRLF, leading zeros, `-0`, with or without the last newline)
 * and cut into random chunks, give exactly the count, sum, min and max of a BigInt
 * reference, and the plot summary of their samples one by one; random and mutated files give aggregates or an `InvalidSamplesError` naming
 * the first bad line, as a plain line-by-line reference decides, and nothing else.
 * Set `FUZZ_SEED` to replay a run.
 *
 * Inputs in this file: 10,000 valid + 100 huge sums + 20,000 random or mutated = 30,100
 * (of the over 100,000 across the three `*_fuzz_test.ts` files).
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { MAX_SAMPLE_DIGITS } from "./limits.ts";
import { InvalidSamplesError, type SampleAggregates, SampleAggregator } from "./samples.ts";
import { chunks } from "./_fuzz_helpers.ts";
import { PlotSummary } from "./plot_summary.ts";

const VALID_RUNS = 10_000;
const MUTATED_RUNS = 20_000;

const seed = Deno.env.get("FUZZ_SEED");
const fuzz = seed ? { seed: Number(seed) } : {};

const LARGEST = 10 ** MAX_SAMPLE_DIGITS - 1;
const encoder = new TextEncoder();

type Verdict = { ok: true; aggregates: SampleAggregates } | { ok: false; line: number };

/**
 * The data-file format of docs/DECISIONS.md, decided line by line with a regular
 * expression and summed in BigInt. One leniency of the real aggregator is copied on
 * purpose: a last line without `\n` may still end in `\r` (a CRLF file cut before its
 * final `\n`).
 */
function reference(bytes: Uint8Array): Verdict {
  const text = String.fromCharCode(...bytes);
  if (text === "") return { ok: false, line: 1 };
  const lines = text.split("\n");
  if (text.endsWith("\n")) lines.pop();
  const pattern = new RegExp(`^-?[0-9]{1,${MAX_SAMPLE_DIGITS}}\\r?$`);
  let sum = 0n;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!pattern.test(line)) return { ok: false, line: i + 1 };
    const value = BigInt(line.replace("\r", ""));
    sum += value;
    min = Math.min(min, Number(value));
    max = Math.max(max, Number(value));
  }
  return { ok: true, aggregates: { count: lines.length, sum, min, max } };
}

/** Runs the aggregator: aggregates, or the line of an InvalidSamplesError; nothing else. */
function aggregate(parts: Uint8Array[], plot?: PlotSummary): Verdict {
  const aggregator = new SampleAggregator(plot);
  try {
    for (const part of parts) aggregator.push(part);
    return { ok: true, aggregates: aggregator.finish() };
  } catch (error) {
    if (!(error instanceof InvalidSamplesError)) throw error;
    assert.ok(Number.isSafeInteger(error.line) && error.line >= 1);
    assert.match(error.message, new RegExp(`^line ${error.line} `));
    return { ok: false, line: error.line };
  }
}

/** One sample and how its line spells it. */
interface Spelling {
  value: number;
  zeros: number;
  negativeZero: boolean;
  crlf: boolean;
}

/** A sample as a line may spell it: leading zeros up to the digit limit, `-0`. */
const sampleArb: fc.Arbitrary<Spelling> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -LARGEST, max: LARGEST }) },
  { weight: 2, arbitrary: fc.integer({ min: -1000, max: 1000 }) },
  { weight: 1, arbitrary: fc.constantFrom(LARGEST, -LARGEST, 0, 2 ** 49, -(2 ** 49)) },
).chain((value) => {
  const digits = String(Math.abs(value));
  return fc.record({
    value: fc.constant(value),
    zeros: fc.integer({ min: 0, max: MAX_SAMPLE_DIGITS - digits.length }),
    negativeZero: fc.boolean(),
    crlf: fc.boolean(),
  });
});

const fileArb = fc.record({
  samples: fc.array(sampleArb, { minLength: 1, maxLength: 60 }),
  finalNewline: fc.boolean(),
});

function render(file: { samples: Spelling[]; finalNewline: boolean }): string {
  return file.samples
    .map((s, i) => {
      const sign = s.value < 0 || (s.value === 0 && s.negativeZero) ? "-" : "";
      const last = i === file.samples.length - 1;
      const end = last && !file.finalNewline ? "" : s.crlf ? "\r\n" : "\n";
      return `${sign}${"0".repeat(s.zeros)}${Math.abs(s.value)}${end}`;
    })
    .join("");
}

const cutsArb = fc.array(fc.nat(), { maxLength: 10 });

Deno.test(`valid files give the BigInt reference's aggregates at every chunking (${VALID_RUNS} runs)`, () => {
  fc.assert(
    fc.property(fileArb, cutsArb, (file, cuts) => {
      const bytes = encoder.encode(render(file));
      const expected = reference(bytes);
      assert.equal(expected.ok, true);
      // A small plot summary, so that buckets merge within 60 samples.
      const plot = new PlotSummary(4);
      assert.deepEqual(aggregate(chunks(bytes, cuts), plot), expected);
      const each = new PlotSummary(4);
      for (const s of file.samples) each.add(s.value);
      assert.deepEqual(plot.finish(), each.finish(), "the plot sees every sample, in order");
      // Independent of the reference's parsing: the sum of the generated values.
      const sum = file.samples.reduce((n, s) => n + BigInt(s.value), 0n);
      assert.equal(expected.ok && expected.aggregates.sum, sum);
    }),
    { numRuns: VALID_RUNS, ...fuzz },
  );
});

Deno.test("sums far past 2^53 stay exact", () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(LARGEST, -LARGEST, LARGEST - 1), {
        minLength: 100,
        maxLength: 3000,
      }),
      (values) => {
        const bytes = encoder.encode(values.join("\n"));
        const result = aggregate([bytes]);
        assert.ok(result.ok);
        assert.equal(result.aggregates.sum, values.reduce((n, v) => n + BigInt(v), 0n));
      },
    ),
    { numRuns: 100, ...fuzz },
  );
});

/** Bytes a hostile or broken file holds, weighted towards the format's own characters. */
const byteArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0x30, max: 0x39 }) },
  { weight: 2, arbitrary: fc.constantFrom(0x0a, 0x0d, 0x2d) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);

type Edit =
  | { edit: "flip"; at: number; bit: number }
  | { edit: "set"; at: number; byte: number }
  | { edit: "insert"; at: number; bytes: number[] }
  | { edit: "delete"; at: number; count: number }
  | { edit: "cut"; keep: number };

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({
    edit: fc.constant("flip" as const),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ edit: fc.constant("set" as const), at: fc.nat(), byte: byteArb }),
  fc.record({
    edit: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.array(byteArb, { minLength: 1, maxLength: 18 }),
  }),
  fc.record({
    edit: fc.constant("delete" as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 4 }),
  }),
  fc.record({ edit: fc.constant("cut" as const), keep: fc.nat() }),
);

function edit(input: Uint8Array, edits: Edit[]): Uint8Array {
  let bytes = [...input];
  for (const e of edits) {
    const at = "at" in e ? e.at % (bytes.length + 1) : 0;
    if (e.edit === "flip" && bytes.length > 0) bytes[at % bytes.length]! ^= 1 << e.bit;
    else if (e.edit === "set" && bytes.length > 0) bytes[at % bytes.length] = e.byte;
    else if (e.edit === "insert") bytes.splice(at, 0, ...e.bytes);
    else if (e.edit === "delete") bytes.splice(at, e.count);
    else if (e.edit === "cut") bytes = bytes.slice(0, e.keep % (bytes.length + 1));
  }
  return new Uint8Array(bytes);
}

Deno.test(`random and mutated files give aggregates or the first bad line, as the reference says (${MUTATED_RUNS} runs)`, () => {
  const inputArb = fc.oneof(
    fc.tuple(fileArb, fc.array(editArb, { minLength: 1, maxLength: 4 })).map(([file, edits]) =>
      edit(encoder.encode(render(file)), edits)
    ),
    fc.array(byteArb, { maxLength: 80 }).map((bytes) => new Uint8Array(bytes)),
  );
  fc.assert(
    fc.property(inputArb, cutsArb, (bytes, cuts) => {
      assert.deepEqual(aggregate(chunks(bytes, cuts)), reference(bytes));
    }),
    { numRuns: MUTATED_RUNS, ...fuzz },
  );
});
