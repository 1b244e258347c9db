import assert from "node:assert/strict";
import { type Infer, schemaFits, schemaProblem, type Shape } from "./schema.ts";

/** Checks that the quick check and the named problem agree, and returns the problem. */
function problem(value: unknown, shape: Shape): string | undefined {
  const named = schemaProblem(value, shape);
  assert.equal(schemaFits(value, shape), named === undefined, JSON.stringify(value));
  return named;
}

const reading = {
  unit: { $oneOf: ["C", "F"] },
  note: { $optional: "string" },
  level: { $optional: { $oneOf: ["low", "high"] } },
} as const;

Deno.test("$oneOf takes only its literals and names them when a value is not one", () => {
  assert.equal(problem({ unit: "C" }, reading), undefined);
  assert.equal(problem({ unit: "F" }, reading), undefined);
  for (const unit of ["K", "c", "", "C ", 1, null, ["C"], { C: 1 }]) {
    assert.equal(problem({ unit }, reading), "unit is not one of C, F", JSON.stringify(unit));
  }
  assert.equal(problem({}, reading), "unit is missing");
  // Names of Object.prototype are not literals.
  assert.equal(problem({ unit: "toString" }, reading), "unit is not one of C, F");
});

Deno.test("optional fields may be absent but not null or of another type", () => {
  assert.equal(problem({ unit: "C", note: "calibrated" }, reading), undefined);
  assert.equal(problem({ unit: "C", level: "high" }, reading), undefined);
  assert.equal(problem({ unit: "C", note: null }, reading), "note is not a string");
  assert.equal(problem({ unit: "C", note: 3 }, reading), "note is not a string");
  assert.equal(problem({ unit: "C", level: "mid" }, reading), "level is not one of low, high");
});

const event = {
  $tag: "kind",
  $variants: {
    tick: { at: "int" },
    alarm: { at: "int", level: { $oneOf: ["low", "high"] }, reason: { $optional: "string" } },
  },
} as const;

Deno.test("$variants check the rest of an object against the shape its tag names", () => {
  assert.equal(problem({ kind: "tick", at: 1 }, event), undefined);
  assert.equal(problem({ kind: "alarm", at: 1, level: "low" }, event), undefined);
  // A field of another variant does not count: each tag has its own required fields.
  assert.equal(problem({ kind: "tick", level: "low" }, event), "at is missing");
  assert.equal(problem({ kind: "alarm", at: 1 }, event), "level is missing");
  assert.equal(problem({ kind: "alarm", at: 1, level: 2 }, event), "level is not one of low, high");
});

Deno.test("$variants refuse a missing, unknown or non-string tag, prototype names included", () => {
  assert.equal(problem({ at: 1 }, event), "kind is missing");
  for (const kind of ["boom", "TICK", "__proto__", "toString", "constructor", 1, null, ["tick"]]) {
    assert.equal(
      problem({ kind, at: 1, level: "low" }, event),
      "kind is not one of tick, alarm",
      JSON.stringify(kind),
    );
  }
  assert.equal(problem("tick", event), "message is not an object");
  assert.equal(problem([{ kind: "tick", at: 1 }], event), "message is not an object");
});

Deno.test("$variants nest as fields and in lists, and problems name the path", () => {
  const log = { latest: event, history: [event] } as const;
  const ok = {
    latest: { kind: "tick", at: 2 },
    history: [{ kind: "tick", at: 1 }, { kind: "alarm", at: 2, level: "high" }],
  };
  assert.equal(problem(ok, log), undefined);
  assert.equal(
    problem({ ...ok, latest: { kind: "nope" } }, log),
    "latest.kind is not one of tick, alarm",
  );
  assert.equal(
    problem({ ...ok, history: [{ kind: "tick", at: 1 }, { kind: "alarm", at: "2" }] }, log),
    "history[1].at is not an integer",
  );
  assert.equal(problem({ ...ok, latest: 5 }, log), "latest is not an object");
  assert.equal(problem({ ...ok, history: {} }, log), "history is not a list");
});

Deno.test("inferred types are literal unions and discriminated unions", () => {
  type Reading = Infer<typeof reading>;
  type Event = Infer<typeof event>;
  const r: Reading = { unit: "F", level: "low" };
  // @ts-expect-error: "K" is not one of the units.
  const wrongUnit: Reading = { unit: "K" };
  // @ts-expect-error: an optional field is absent, never undefined.
  const undefinedNote: Reading = { unit: "C", note: undefined };
  const e: Event = { kind: "alarm", at: 3, level: "high" };
  // @ts-expect-error: a tick has no level.
  const tickWithLevel: Event = { kind: "tick", at: 3, level: "high" };
  // @ts-expect-error: an alarm needs its level.
  const alarmWithoutLevel: Event = { kind: "alarm", at: 3 };
  // Narrowing on the tag reaches the variant's own fields.
  const level = (x: Event) => x.kind === "alarm" ? x.level : "none";
  assert.equal(level(e), "high");
  assert.equal(r.unit, "F");
  for (const wrong of [wrongUnit, undefinedNote, tickWithLevel, alarmWithoutLevel]) {
    assert.ok(wrong);
  }
});
