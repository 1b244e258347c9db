/**
 * Property-based tests of the message codec (fast-check). Every request, result, error
 * response and push in `messages.ts` is generated from its table and must round-trip;
 * mutated messages (fields dropped, retyped or added, bytes flipped or cut, invalid UTF-8)
 * must decode to a message that fits its schema or fail with a `ProtocolError`, never
 * anything else. Set `FUZZ_SEED` to replay a run.
 *
 * Inputs in this file: 250 round trips per message shape (46 shapes today: 20 requests,
 * 20 results, 5 pushes, error responses = 11,500) + 25,000 mutated + 4,000 invalid UTF-8 +
 * 10,000 values that nearly fit a schema, about 50,500 of the over 100,000 across the
 * three `*_fuzz_test.ts` files.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeMessage, encodeMessage } from "./codec.ts";
import { ERROR_CODES, ProtocolError } from "./errors.ts";
import { type Message, type Op, PUSHES, REQUESTS, RESULTS } from "./messages.ts";
import {
  type Field,
  isOneOf,
  isOptional,
  isVariants,
  schemaFits,
  schemaProblem,
  type Shape,
} from "./schema.ts";

const ROUND_TRIP_RUNS = 250;
const MUTATED_RUNS = 25_000;
const INVALID_UTF8_RUNS = 4_000;
const NEAR_FIT_RUNS = 10_000;

const seed = Deno.env.get("FUZZ_SEED");
const fuzz = seed ? { seed: Number(seed) } : {};

const OPS = Object.keys(REQUESTS) as Op[];
const EVENTS = Object.keys(PUSHES) as (keyof typeof PUSHES)[];
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** JSON has no -0: `JSON.stringify(-0)` is `0`. */
const intArb = fc.maxSafeInteger().map((n) => (n === 0 ? 0 : n));
const stringArb = fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), fc.string());

/** Values that fit one field of a schema, built from the field's description. */
function fieldArb(field: Field): fc.Arbitrary<unknown> {
  if (isOptional(field)) return fieldArb(field.$optional);
  if (isOneOf(field)) return fc.constantFrom(...field.$oneOf);
  if (Array.isArray(field)) return fc.array(shapeArb(field[0] as Shape), { maxLength: 4 });
  if (typeof field === "object") return shapeArb(field as Shape);
  switch (field) {
    case "string":
      return stringArb;
    case "int":
      return intArb;
    case "bool":
      return fc.boolean();
    case "string[]":
      return fc.array(stringArb, { maxLength: 4 });
  }
  throw new Error(`no arbitrary for schema field ${field}`);
}

/** Objects that fit a shape: every required field, optional ones present or absent. */
function shapeArb(shape: Shape): fc.Arbitrary<Record<string, unknown>> {
  if (isVariants(shape)) {
    return fc.oneof(
      ...Object.entries(shape.$variants).map(([tag, schema]) =>
        shapeArb(schema).map((fields) => ({ ...fields, [shape.$tag]: tag }))
      ),
    );
  }
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  const required: string[] = [];
  for (const [key, field] of Object.entries(shape)) {
    model[key] = fieldArb(field);
    if (!isOptional(field)) required.push(key);
  }
  // fast-check makes null-prototype records; JSON.parse gives plain objects.
  return fc.record(model, { requiredKeys: required }).map((r) => ({ ...r }));
}

const idArb = fc.integer({ min: 0, max: 0xffff_ffff });

function requestArb(op: Op): fc.Arbitrary<Message> {
  return fc.tuple(idArb, shapeArb(REQUESTS[op])).map(
    ([id, fields]) => ({ ...fields, t: "req", id, op }) as Message,
  );
}

function resultArb(op: Op): fc.Arbitrary<Message> {
  return fc.tuple(idArb, shapeArb(RESULTS[op])).map(
    ([id, fields]) => ({ ...fields, t: "res", id, ok: true }) as Message,
  );
}

function pushArb(event: keyof typeof PUSHES): fc.Arbitrary<Message> {
  return shapeArb(PUSHES[event]).map((fields) => ({ ...fields, t: "push", event }) as Message);
}

const errorArb: fc.Arbitrary<Message> = fc.record({
  id: idArb,
  error: fc.constantFrom(...ERROR_CODES),
  message: stringArb,
}).map((r) => ({ t: "res", ok: false, ...r }) as Message);

/** A valid message of any kind, with the op a response answers. */
const anyMessageArb: fc.Arbitrary<{ message: Message; op: Op | undefined }> = fc.oneof(
  ...OPS.map((op) => requestArb(op).map((message) => ({ message, op: undefined }))),
  ...OPS.map((op) => resultArb(op).map((message) => ({ message, op }))),
  ...EVENTS.map((event) => pushArb(event).map((message) => ({ message, op: undefined }))),
  errorArb.map((message) => ({ message, op: undefined })),
);

/** The JSON body of a message, as it travels inside a frame. */
function body(message: Message): Uint8Array {
  return encodeMessage(message).subarray(5);
}

function roundTrip(arb: fc.Arbitrary<Message>, op?: Op): void {
  fc.assert(
    fc.property(arb, (message) => {
      assert.deepEqual(decodeMessage(body(message), op && (() => op)), message);
    }),
    { numRuns: ROUND_TRIP_RUNS, ...fuzz },
  );
}

Deno.test(`every request op round-trips (${OPS.length} × ${ROUND_TRIP_RUNS} runs)`, () => {
  for (const op of OPS) roundTrip(requestArb(op));
});

Deno.test(`every result round-trips, checked against its op (${OPS.length} × ${ROUND_TRIP_RUNS} runs)`, () => {
  for (const op of OPS) roundTrip(resultArb(op), op);
});

Deno.test(`every push and error response round-trips (${EVENTS.length + 1} × ${ROUND_TRIP_RUNS} runs)`, () => {
  for (const event of EVENTS) roundTrip(pushArb(event));
  roundTrip(errorArb);
});

/** Checks what decodeMessage returned really fits the tables. */
function assertFits(message: Message, op: Op | undefined): void {
  const record = message as Record<string, unknown>;
  if (message.t === "req") {
    assert.ok(Object.hasOwn(REQUESTS, message.op));
    assert.equal(schemaProblem(record, REQUESTS[message.op]), undefined);
  } else if (message.t === "push") {
    assert.ok(Object.hasOwn(PUSHES, message.event));
    assert.equal(schemaProblem(record, PUSHES[message.event]), undefined);
  } else {
    assert.equal(message.t, "res");
    if (message.ok === true) {
      if (op) assert.equal(schemaProblem(record, RESULTS[op]), undefined);
    } else {
      assert.equal(message.ok, false);
      assert.ok((ERROR_CODES as readonly string[]).includes(message.error));
      assert.equal(typeof message.message, "string");
    }
  }
  assert.equal(typeof (record.id ?? 0), "number");
}

/** Decodes untrusted bytes: a fitting message, or a ProtocolError and nothing else. */
function decodeUntrusted(bytes: Uint8Array, op: Op | undefined): Message | undefined {
  let message: Message;
  try {
    message = decodeMessage(bytes, op && (() => op));
  } catch (error) {
    if (error instanceof ProtocolError) return undefined;
    throw error;
  }
  assertFits(message, op);
  return message;
}

type JsonEdit =
  | { edit: "drop"; key: number }
  | { edit: "set"; key: number; value: unknown }
  | { edit: "add"; key: string; value: unknown }
  | { edit: "rename"; key: "t" | "op" | "event" | "ok" | "error"; value: unknown };

/** Hostile values: wrong types, huge and fractional numbers, deep nesting, tricky keys. */
const hostileValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    null,
    -1,
    1.5,
    1e300,
    -0,
    2 ** 53,
    0x1_0000_0000,
    "",
    "__proto__",
    "toString",
    [],
    {},
    { __proto__: null },
    JSON.parse('{"__proto__": {"polluted": true}}'),
  ),
);

const jsonEditArb: fc.Arbitrary<JsonEdit> = fc.oneof(
  fc.record({ edit: fc.constant("drop" as const), key: fc.nat() }),
  fc.record({ edit: fc.constant("set" as const), key: fc.nat(), value: hostileValueArb }),
  fc.record({
    edit: fc.constant("add" as const),
    key: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("__proto__", "constructor")),
    value: hostileValueArb,
  }),
  fc.record({
    edit: fc.constant("rename" as const),
    key: fc.constantFrom(
      "t" as const,
      "op" as const,
      "event" as const,
      "ok" as const,
      "error" as const,
    ),
    value: fc.oneof(
      hostileValueArb,
      fc.constantFrom("req", "res", "push", ...OPS, ...EVENTS, ...ERROR_CODES, true, false),
    ),
  }),
);

function editJson(message: Message, edits: JsonEdit[]): string {
  const record: Record<string, unknown> = JSON.parse(JSON.stringify(message));
  for (const e of edits) {
    const keys = Object.keys(record);
    if (e.edit === "drop" && keys.length > 0) delete record[keys[e.key % keys.length]!];
    else if (e.edit === "set" && keys.length > 0) record[keys[e.key % keys.length]!] = e.value;
    else if (e.edit === "add" || e.edit === "rename") {
      Object.defineProperty(record, e.key, {
        value: e.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return JSON.stringify(record);
}

type ByteEdit =
  | { edit: "flip"; at: number; bit: number }
  | { edit: "cut"; keep: number }
  | { edit: "insert"; at: number; bytes: Uint8Array };

const byteEditArb: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.record({
    edit: fc.constant("flip" as const),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ edit: fc.constant("cut" as const), keep: fc.nat() }),
  fc.record({
    edit: fc.constant("insert" as const),
    at: fc.nat(),
    bytes: fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 6 }),
      fc.constantFrom(
        ...[",", "}", "{", '"', "\\", "[", "]", ":", "1e999"].map((s) =>
          new TextEncoder().encode(s)
        ),
      ),
    ),
  }),
);

function editBytes(input: Uint8Array, edits: ByteEdit[]): Uint8Array {
  let bytes = input.slice();
  for (const e of edits) {
    if (e.edit === "flip" && bytes.length > 0) bytes[e.at % bytes.length]! ^= 1 << e.bit;
    else if (e.edit === "cut") bytes = bytes.slice(0, e.keep % (bytes.length + 1));
    else if (e.edit === "insert") {
      const at = e.at % (bytes.length + 1);
      const out = new Uint8Array(bytes.length + e.bytes.length);
      out.set(bytes.subarray(0, at));
      out.set(e.bytes, at);
      out.set(bytes.subarray(at), at + e.bytes.length);
      bytes = out;
    }
  }
  return bytes;
}

Deno.test(`mutated messages decode to a fitting message or a ProtocolError only (${MUTATED_RUNS} runs)`, () => {
  const mutatedArb = fc.tuple(
    anyMessageArb,
    fc.array(jsonEditArb, { maxLength: 3 }),
    fc.array(byteEditArb, { maxLength: 3 }),
    fc.option(fc.constantFrom(...OPS), { nil: undefined }),
  );
  fc.assert(
    fc.property(mutatedArb, ([{ message, op }, jsonEdits, byteEdits, otherOp]) => {
      const text = editJson(message, jsonEdits);
      const bytes = editBytes(new TextEncoder().encode(text), byteEdits);
      const decoded = decodeUntrusted(bytes, otherOp ?? op);
      if (decoded === undefined) return;
      // Whatever was accepted re-encodes and decodes to itself (up to JSON's own
      // normalisation of fields outside the schema, such as 1e999 becoming null).
      const againOp = otherOp ?? op;
      assert.deepEqual(
        decodeMessage(body(decoded), againOp && (() => againOp)),
        JSON.parse(JSON.stringify(decoded)),
      );
    }),
    { numRuns: MUTATED_RUNS, ...fuzz },
  );
});

Deno.test(`a body that is not valid UTF-8 is always a ProtocolError (${INVALID_UTF8_RUNS} runs)`, () => {
  const invalidArb = fc.constantFrom(
    [0xff],
    [0xfe],
    [0xc0, 0x80], // overlong NUL
    [0xc1, 0xbf],
    [0xe0, 0x80, 0x80], // overlong
    [0xed, 0xa0, 0x80], // UTF-16 surrogate
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [0xe2, 0x82], // truncated
    [0x80], // lone continuation
  );
  fc.assert(
    fc.property(anyMessageArb, invalidArb, fc.nat(), ({ message, op }, invalid, at) => {
      const valid = body(message);
      const where = at % (valid.length + 1);
      const bytes = new Uint8Array([
        ...valid.subarray(0, where),
        ...invalid,
        ...valid.subarray(where),
      ]);
      let isValid = true;
      try {
        strictUtf8.decode(bytes);
      } catch {
        isValid = false;
      }
      // Inserted next to a multi-byte character, a fragment can complete it.
      fc.pre(!isValid);
      assert.throws(() => decodeMessage(bytes, op && (() => op)), (e: unknown) => {
        assert.ok(e instanceof ProtocolError);
        assert.match(e.message, /not valid UTF-8 JSON/);
        return true;
      });
    }),
    { numRuns: INVALID_UTF8_RUNS, ...fuzz },
  );
});

Deno.test("pathological JSON is a ProtocolError or a fitting message, not a crash", () => {
  const cases = [
    "[".repeat(100_000) + "]".repeat(100_000),
    '{"t":"req","id":1,"op":"devices","x":' + "[".repeat(50_000) + "]".repeat(50_000) + "}",
    '{"t":"req","id":1e999,"op":"devices"}',
    '{"t":"req","id":1,"op":"upload","fileID":1,"bytes":1e999}',
    '{"t":"res","id":1,"ok":true}',
    '{"t":"push","event":"__proto__"}',
    '{"__proto__":{"t":"req"},"id":1,"op":"devices"}',
    "\uFEFF{}",
    "",
  ];
  const accepted = cases.filter((text) =>
    decodeUntrusted(new TextEncoder().encode(text), "devices") !== undefined
  );
  // Only the deeply nested extra field is accepted: unknown fields are ignored.
  assert.deepEqual(accepted, [cases[1]]);
});

/**
 * Values shaped like a schema whose fields may each fit, have another type or be absent;
 * for variants, with a tag that may name one of them or not.
 */
function nearArb(shape: Shape): fc.Arbitrary<unknown> {
  if (isVariants(shape)) {
    const tags = Object.keys(shape.$variants);
    return fc.tuple(
      fc.constantFrom(...tags),
      fc.oneof(
        { weight: 12, arbitrary: fc.constantFrom<unknown>(...tags) },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
        { weight: 1, arbitrary: fc.constant(undefined) },
      ),
    ).chain(([shapeTag, tag]) =>
      nearArb(shape.$variants[shapeTag]!).map((value) =>
        typeof value === "object" && value !== null && !Array.isArray(value)
          ? { ...value, [shape.$tag]: tag }
          : value
      )
    );
  }
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, field] of Object.entries(shape)) {
    const near = Array.isArray(field)
      ? fc.array(nearArb(field[0] as Shape), { maxLength: 3 })
      : typeof field === "object" && !isOneOf(field) && !isOptional(field)
      ? nearArb(field as Shape)
      : fieldArb(field);
    model[key] = fc.oneof(
      { weight: 12, arbitrary: near },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    );
  }
  return fc.oneof(
    { weight: 9, arbitrary: fc.record(model).map((r) => ({ ...r })) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  );
}

Deno.test(`the compiled check and the named problem agree on every schema (${NEAR_FIT_RUNS} runs)`, () => {
  const schemas = [...Object.values(REQUESTS), ...Object.values(RESULTS), ...Object.values(PUSHES)];
  let fits = 0;
  fc.assert(
    fc.property(
      fc.constantFrom(...schemas).chain((schema) => fc.tuple(fc.constant(schema), nearArb(schema))),
      ([schema, value]) => {
        const fit = schemaFits(value, schema);
        if (fit) fits++;
        assert.equal(fit, schemaProblem(value, schema) === undefined);
      },
    ),
    { numRuns: NEAR_FIT_RUNS, ...fuzz },
  );
  // Both answers must be well represented for the agreement to mean anything.
  assert.ok(fits > NEAR_FIT_RUNS / 10 && fits < NEAR_FIT_RUNS * 0.9, `${fits} fitted`);
});
