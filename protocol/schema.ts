/**
 * A very small schema language for the JSON messages of the protocol: enough to validate
 * untrusted objects field by field and to infer their TypeScript types from one table.
 * Schemas are plain `as const` data, so the tables that use them are data too.
 *
 * A field is one of:
 *
 * - `"string"`, `"int"` (a safe integer), `"bool"` or `"string[]"`;
 * - `{ $oneOf: ["a", "b"] }`: a string that is one of the listed literals, typed as their
 *   union (`"a" | "b"`);
 * - a nested object schema `{ name: field, ... }` (names starting with `$` are reserved);
 * - `{ $tag: "kind", $variants: { a: {...}, b: {...} } }`: an object whose `kind` field
 *   says which of the listed object schemas the rest of it follows, typed as a
 *   discriminated union;
 * - a one-element array `[shape]`: a list of objects of that shape (an object schema or
 *   variants);
 * - `{ $optional: field }`: any of the above, which may also be absent (never `null`).
 *
 * Fields a schema does not list are ignored.
 *
 * @example
 * ```ts
 * import { type Infer, schemaProblem } from "./schema.ts";
 * import assert from "node:assert/strict";
 * const pet = {
 *   $tag: "kind",
 *   $variants: {
 *     cat: { name: "string", lives: "int" },
 *     dog: { name: "string", size: { $oneOf: ["small", "large"] }, good: { $optional: "bool" } },
 *   },
 * } as const;
 * const rex: Infer<typeof pet> = { kind: "dog", name: "Rex", size: "large" };
 * assert.equal(schemaProblem(rex, pet), undefined);
 * assert.equal(
 *   schemaProblem({ kind: "dog", name: "Rex", size: "huge" }, pet),
 *   "size is not one of small, large",
 * );
 * ```
 *
 * @module
 */

/** Primitive field types. */
export type Primitive = "string" | "int" | "bool" | "string[]";
/** A string field that must be one of the listed literals. */
export type OneOf = { readonly $oneOf: readonly [string, ...string[]] };
/** A field that may be absent. */
export type Optional = { readonly $optional: RequiredField };
/** An object whose `$tag` field names which of `$variants` the rest of it follows. */
export type Variants = { readonly $tag: string; readonly $variants: VariantShapes };
/** Tag value → object schema, as {@linkcode Variants} lists them. */
export type VariantShapes = { readonly [value: string]: Schema };
/** Something a list or a message body can be: an object schema or variants of them. */
export type Shape = Schema | Variants;
/** A field that must be present. */
export type RequiredField = Primitive | OneOf | Shape | readonly [Shape];
/** One field of a schema. */
export type Field = RequiredField | Optional;
/** An object schema: field name → field type (names starting with `$` are reserved). */
export type Schema = { readonly [key: string]: Field };

// --- types inferred from schemas ---

type PrimitiveType<P> = P extends "string" ? string
  : P extends "int" ? number
  : P extends "bool" ? boolean
  : P extends "string[]" ? string[]
  : never;

type FieldType<F> = F extends Optional ? FieldType<F["$optional"]>
  : F extends OneOf ? F["$oneOf"][number]
  : F extends readonly [infer S] ? Infer<S>[]
  : F extends Primitive ? PrimitiveType<F>
  : Infer<F>;

type OptionalKeys<S> = { [K in keyof S]: S[K] extends Optional ? K : never }[keyof S];
type RequiredKeys<S> = Exclude<keyof S, OptionalKeys<S>>;

/** Flattens an intersection into one object type (for readable hovers and errors). */
type Flat<T> = { [K in keyof T]: T[K] };

type ObjectType<S> = Flat<
  & { -readonly [K in RequiredKeys<S>]: FieldType<S[K]> }
  & { -readonly [K in OptionalKeys<S>]?: FieldType<S[K]> }
>;

type VariantsType<S extends Variants> = {
  [V in keyof S["$variants"] & string]: Flat<
    & { -readonly [T in S["$tag"]]: V }
    & ObjectType<S["$variants"][V]>
  >;
}[keyof S["$variants"] & string];

/**
 * The TypeScript type of values a shape (object schema or variants) accepts.
 *
 * @internal The machinery behind the public message types (`RequestArgs`, `Push`, ...):
 * users see the types it produces, not this.
 */
export type Infer<S> = S extends Variants ? VariantsType<S> : ObjectType<S>;

// --- checking ---

/**
 * Whether `value` fits `shape`: the quick check, compiled once per shape, that decoding
 * runs on every message; {@linkcode schemaProblem} then names what is wrong.
 *
 * @param value untrusted data, usually from `JSON.parse`.
 * @param shape what it must look like; fields not in the schema are ignored.
 * @returns whether it fits.
 */
export function schemaFits(value: unknown, shape: Shape): boolean {
  return fitsShape(shape)(value);
}

/**
 * Checks `value` against `shape`, naming the first field that does not fit.
 *
 * @param value untrusted data, usually from `JSON.parse`.
 * @param shape what it must look like; fields not in the schema are ignored.
 * @param path where `value` sits, for the message.
 * @returns `undefined` when it fits, otherwise a sentence naming the first bad field.
 */
export function schemaProblem(value: unknown, shape: Shape, path = ""): string | undefined {
  if (!isRecord(value)) return `${path || "message"} is not an object`;
  if (isVariants(shape)) {
    const where = path ? `${path}.${shape.$tag}` : shape.$tag;
    const tag = value[shape.$tag];
    if (tag === undefined) return `${where} is missing`;
    const schema = variantOf(shape, tag);
    if (!schema) return `${where} is not one of ${Object.keys(shape.$variants).join(", ")}`;
    return objectProblem(value, schema, path);
  }
  return objectProblem(value, shape, path);
}

function objectProblem(
  record: Record<string, unknown>,
  schema: Schema,
  path: string,
): string | undefined {
  for (const [key, field] of Object.entries(schema)) {
    const where = path ? `${path}.${key}` : key;
    const problem = fieldProblem(record[key], field, where);
    if (problem) return problem;
  }
  return undefined;
}

function fieldProblem(value: unknown, field: Field, where: string): string | undefined {
  if (isOptional(field)) {
    return value === undefined ? undefined : fieldProblem(value, field.$optional, where);
  }
  if (value === undefined) return `${where} is missing`;
  if (isOneOf(field)) {
    return field.$oneOf.includes(value as string)
      ? undefined
      : `${where} is not one of ${field.$oneOf.join(", ")}`;
  }
  if (Array.isArray(field)) {
    if (!Array.isArray(value)) return `${where} is not a list`;
    for (let i = 0; i < value.length; i++) {
      const problem = schemaProblem(value[i], field[0] as Shape, `${where}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof field === "object") return schemaProblem(value, field as Shape, where);
  switch (field) {
    case "string":
      return typeof value === "string" ? undefined : `${where} is not a string`;
    case "int":
      return Number.isSafeInteger(value) ? undefined : `${where} is not an integer`;
    case "bool":
      return typeof value === "boolean" ? undefined : `${where} is not a boolean`;
    case "string[]":
      return Array.isArray(value) && value.every((v) => typeof v === "string")
        ? undefined
        : `${where} is not a list of strings`;
  }
}

// --- the fast check: one closure per field, compiled once per shape ---

type Fits = (value: unknown) => boolean;

const PRIMITIVE_FITS: Record<Primitive, Fits> = {
  string: (v) => typeof v === "string",
  int: (v) => Number.isSafeInteger(v),
  bool: (v) => typeof v === "boolean",
  "string[]": (v) => Array.isArray(v) && v.every((s) => typeof s === "string"),
};

/** Compiled checks, per shape object: the tables are constants, so this only grows once. */
const COMPILED = new WeakMap<Shape, Fits>();

function fitsShape(shape: Shape): Fits {
  let fits = COMPILED.get(shape);
  if (!fits) {
    fits = isVariants(shape) ? compileVariants(shape) : compileObject(shape);
    COMPILED.set(shape, fits);
  }
  return fits;
}

function compileObject(schema: Schema): Fits {
  const keys = Object.keys(schema);
  const checks = keys.map((key) => fitsField(schema[key]!));
  return (value) => {
    if (!isRecord(value)) return false;
    for (let i = 0; i < keys.length; i++) if (!checks[i]!(value[keys[i]!])) return false;
    return true;
  };
}

function compileVariants(shape: Variants): Fits {
  const tag = shape.$tag;
  const byTag = new Map(
    Object.entries(shape.$variants).map(([value, schema]) => [value, fitsShape(schema)]),
  );
  return (value) => {
    if (!isRecord(value)) return false;
    const fits = byTag.get(value[tag] as string);
    return fits !== undefined && fits(value);
  };
}

function fitsField(field: Field): Fits {
  if (isOptional(field)) {
    const fits = fitsField(field.$optional);
    return (v) => v === undefined || fits(v);
  }
  if (isOneOf(field)) {
    const allowed = new Set<unknown>(field.$oneOf);
    return (v) => allowed.has(v);
  }
  if (Array.isArray(field)) {
    const item = fitsShape(field[0] as Shape);
    return (v) => Array.isArray(v) && v.every(item);
  }
  if (typeof field === "object") return fitsShape(field as Shape);
  return PRIMITIVE_FITS[field as Primitive];
}

function variantOf(shape: Variants, tag: unknown): Schema | undefined {
  return typeof tag === "string" && Object.hasOwn(shape.$variants, tag)
    ? shape.$variants[tag]
    : undefined;
}

/**
 * Whether a field is the `$oneOf` form.
 *
 * @param field a field of a schema.
 * @returns whether it lists literals.
 */
export function isOneOf(field: Field): field is OneOf {
  return typeof field === "object" && Object.hasOwn(field, "$oneOf");
}

/**
 * Whether a field is the `$optional` form.
 *
 * @param field a field of a schema.
 * @returns whether it may be absent.
 */
export function isOptional(field: Field): field is Optional {
  return typeof field === "object" && Object.hasOwn(field, "$optional");
}

/**
 * Whether a field (or a shape) is the `$variants` form.
 *
 * @param field a field of a schema, or a shape.
 * @returns whether it is variants told apart by a tag.
 */
export function isVariants(field: Field): field is Variants {
  return typeof field === "object" && Object.hasOwn(field, "$variants");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
