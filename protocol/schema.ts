/**
 * A very small schema language for the JSON messages of the protocol: enough to validate
 * untrusted objects field by field and to infer their TypeScript types from one table.
 *
 * A field is one of:
 *
 * - `"string"`, `"int"` (a safe integer), `"bool"` or `"string[]"`;
 * - {@linkcode oneOf}`(["a", "b"])`: a string that is one of the listed literals, typed as
 *   their union (`"a" | "b"`);
 * - a nested object schema `{ name: field, ... }`;
 * - {@linkcode variants}`("kind", { a: {...}, b: {...} })`: an object whose `kind` field
 *   says which of the listed object schemas the rest of it follows, typed as a
 *   discriminated union;
 * - a one-element array `[shape]`: a list of objects of that shape (an object schema or
 *   variants);
 * - {@linkcode optional}`(field)`: any of the above, which may also be absent.
 *
 * Fields a schema does not list are ignored.
 *
 * @example
 * ```ts
 * import { type Infer, oneOf, optional, schemaProblem, variants } from "./schema.ts";
 * import assert from "node:assert/strict";
 * const pet = variants("kind", {
 *   cat: { name: "string", lives: "int" },
 *   dog: { name: "string", size: oneOf(["small", "large"]), good: optional("bool") },
 * });
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

/** A string field that must be one of `values`; build it with {@linkcode oneOf}. */
export class OneOf<V extends string> {
  /** The literals allowed, in the order messages name them. */
  readonly values: readonly V[];
  /** Keeps the class nominal: an object schema with a `values` field is not a `OneOf`. */
  readonly #oneOf = true;

  /** @param values the literals allowed. */
  constructor(values: readonly V[]) {
    this.values = values;
  }
}

/** A field that may be absent; build it with {@linkcode optional}. */
export class Optional<F extends RequiredField> {
  /** What the field holds when it is present. */
  readonly field: F;
  /** Keeps the class nominal. */
  readonly #optional = true;

  /** @param field what the field holds when it is present. */
  constructor(field: F) {
    this.field = field;
  }
}

/**
 * An object whose `tag` field names which of `shapes` it follows; build it with
 * {@linkcode variants}.
 */
export class Variants<Tag extends string, M extends VariantShapes> {
  /** The field that tells the variants apart. */
  readonly tag: Tag;
  /** Tag value → the object schema of the other fields. */
  readonly shapes: M;
  /** Keeps the class nominal. */
  readonly #variants = true;

  /**
   * @param tag the field that tells the variants apart.
   * @param shapes tag value → the object schema of the other fields.
   */
  constructor(tag: Tag, shapes: M) {
    this.tag = tag;
    this.shapes = shapes;
  }
}

/** Tag value → object schema, as {@linkcode variants} takes them. */
export type VariantShapes = { readonly [value: string]: Schema };
/** Something a list or a message body can be: an object schema or variants of them. */
export type Shape = Schema | Variants<string, VariantShapes>;
/** A field that must be present. */
export type RequiredField = Primitive | OneOf<string> | Shape | readonly [Shape];
/** One field of a schema. */
export type Field = RequiredField | Optional<RequiredField>;
/** An object schema: field name → field type. */
export type Schema = { readonly [key: string]: Field };

/**
 * A string field that must be one of `values`.
 *
 * @param values the literals allowed (at least one).
 * @returns the field, typed as the union of the literals.
 */
export function oneOf<const V extends readonly [string, ...string[]]>(
  values: V,
): OneOf<V[number]> {
  return new OneOf<V[number]>(values);
}

/**
 * A field that may be absent (but, when present, not `null`).
 *
 * @param field what the field holds when it is present.
 * @returns the optional field.
 */
export function optional<const F extends RequiredField>(field: F): Optional<F> {
  return new Optional(field);
}

/**
 * An object that is one of several shapes, told apart by its `tag` field: a discriminated
 * union.
 *
 * @param tag the field that tells the variants apart (not listed in the shapes).
 * @param shapes tag value → the object schema of the other fields.
 * @returns the variants.
 */
export function variants<const Tag extends string, const M extends VariantShapes>(
  tag: Tag,
  shapes: M,
): Variants<Tag, M> {
  return new Variants(tag, shapes);
}

// --- types inferred from schemas ---

type PrimitiveType<P> = P extends "string" ? string
  : P extends "int" ? number
  : P extends "bool" ? boolean
  : P extends "string[]" ? string[]
  : never;

type FieldType<F> = F extends Optional<infer G> ? FieldType<G>
  : F extends OneOf<infer V> ? V
  : F extends readonly [infer S] ? Infer<S>[]
  : F extends Primitive ? PrimitiveType<F>
  : Infer<F>;

type OptionalKeys<S> = { [K in keyof S]: S[K] extends Optional<infer _> ? K : never }[keyof S];
type RequiredKeys<S> = Exclude<keyof S, OptionalKeys<S>>;

/** Flattens an intersection into one object type (for readable hovers and errors). */
type Flat<T> = { [K in keyof T]: T[K] };

type ObjectType<S> = Flat<
  & { -readonly [K in RequiredKeys<S>]: FieldType<S[K]> }
  & { -readonly [K in OptionalKeys<S>]?: FieldType<S[K]> }
>;

type VariantsType<Tag extends string, M> = {
  [V in keyof M & string]: Flat<{ -readonly [T in Tag]: V } & ObjectType<M[V]>>;
}[keyof M & string];

/** The TypeScript type of values a shape (object schema or variants) accepts. */
export type Infer<S> = S extends Variants<infer Tag, infer M> ? VariantsType<Tag, M>
  : ObjectType<S>;

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
  if (shape instanceof Variants) {
    const where = path ? `${path}.${shape.tag}` : shape.tag;
    const tag = value[shape.tag];
    if (tag === undefined) return `${where} is missing`;
    const schema = variantOf(shape, tag);
    if (!schema) return `${where} is not one of ${Object.keys(shape.shapes).join(", ")}`;
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
  if (field instanceof Optional) {
    return value === undefined ? undefined : fieldProblem(value, field.field, where);
  }
  if (value === undefined) return `${where} is missing`;
  if (field instanceof OneOf) {
    return field.values.includes(value as string)
      ? undefined
      : `${where} is not one of ${field.values.join(", ")}`;
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
    fits = shape instanceof Variants ? compileVariants(shape) : compileObject(shape);
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

function compileVariants(shape: Variants<string, VariantShapes>): Fits {
  const { tag } = shape;
  const byTag = new Map(
    Object.entries(shape.shapes).map(([value, schema]) => [
      value,
      fitsShape(schema),
    ]),
  );
  return (value) => {
    if (!isRecord(value)) return false;
    const fits = byTag.get(value[tag] as string);
    return fits !== undefined && fits(value);
  };
}

function fitsField(field: Field): Fits {
  if (field instanceof Optional) {
    const fits = fitsField(field.field);
    return (v) => v === undefined || fits(v);
  }
  if (field instanceof OneOf) {
    const allowed = new Set<unknown>(field.values);
    return (v) => allowed.has(v);
  }
  if (Array.isArray(field)) {
    const item = fitsShape(field[0] as Shape);
    return (v) => Array.isArray(v) && v.every(item);
  }
  if (typeof field === "object") return fitsShape(field as Shape);
  return PRIMITIVE_FITS[field as Primitive];
}

function variantOf(shape: Variants<string, VariantShapes>, tag: unknown): Schema | undefined {
  return typeof tag === "string" && Object.hasOwn(shape.shapes, tag)
    ? shape.shapes[tag]
    : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
