/**
 * A very small schema language for the JSON messages of the protocol: enough to validate
 * untrusted objects field by field and to infer their TypeScript types from one table.
 *
 * A field is `"string"`, `"int"` (a safe integer), `"bool"`, `"string[]"`, a nested
 * object schema, or a one-element array `[schema]` for a list of objects. A trailing `?`
 * on a primitive marks it optional.
 *
 * @module
 */

/** Primitive field types. */
export type Primitive = "string" | "int" | "bool" | "string[]";
/** One field of a schema. */
export type Field = Primitive | `${Primitive}?` | Schema | readonly [Schema];
/** An object schema: field name → field type. */
export type Schema = { readonly [key: string]: Field };

type PrimitiveType<P> = P extends "string" ? string
  : P extends "int" ? number
  : P extends "bool" ? boolean
  : P extends "string[]" ? string[]
  : never;

type FieldType<F> = F extends readonly [infer S] ? Infer<S>[]
  : F extends `${infer P}?` ? PrimitiveType<P>
  : F extends Primitive ? PrimitiveType<F>
  : Infer<F>;

type RequiredKeys<S> = { [K in keyof S]: S[K] extends `${string}?` ? never : K }[keyof S];
type OptionalKeys<S> = { [K in keyof S]: S[K] extends `${string}?` ? K : never }[keyof S];

/** The TypeScript type of values a schema accepts. */
export type Infer<S> =
  & { -readonly [K in RequiredKeys<S>]: FieldType<S[K]> }
  & { -readonly [K in OptionalKeys<S>]?: FieldType<S[K]> };

/**
 * Whether `value` fits `schema`: the quick check, compiled once per schema, that decoding
 * runs on every message; {@linkcode schemaProblem} then names what is wrong.
 *
 * @param value untrusted data, usually from `JSON.parse`.
 * @param schema what it must look like; fields not in the schema are ignored.
 */
export function schemaFits(value: unknown, schema: Schema): boolean {
  return fitsSchema(schema)(value);
}

/**
 * Checks `value` against `schema`, naming the first field that does not fit.
 *
 * @param value untrusted data, usually from `JSON.parse`.
 * @param schema what it must look like; fields not in the schema are ignored.
 * @param path where `value` sits, for the message.
 * @returns `undefined` when it fits, otherwise a sentence naming the first bad field.
 */
export function schemaProblem(value: unknown, schema: Schema, path = ""): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return `${path || "message"} is not an object`;
  }
  const record = value as Record<string, unknown>;
  for (const [key, field] of Object.entries(schema)) {
    const where = path ? `${path}.${key}` : key;
    const problem = fieldProblem(record[key], field, where);
    if (problem) return problem;
  }
  return undefined;
}

// --- the fast check: one closure per field, compiled once per schema ---

type Fits = (value: unknown) => boolean;

const PRIMITIVE_FITS: Record<Primitive, Fits> = {
  string: (v) => typeof v === "string",
  int: (v) => Number.isSafeInteger(v),
  bool: (v) => typeof v === "boolean",
  "string[]": (v) => Array.isArray(v) && v.every((s) => typeof s === "string"),
};

const COMPILED = new WeakMap<Schema, Fits>();

function fitsSchema(schema: Schema): Fits {
  let fits = COMPILED.get(schema);
  if (!fits) {
    const keys = Object.keys(schema);
    const checks = keys.map((key) => fitsField(schema[key]!));
    fits = (value) => {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
      const record = value as Record<string, unknown>;
      for (let i = 0; i < keys.length; i++) if (!checks[i]!(record[keys[i]!])) return false;
      return true;
    };
    COMPILED.set(schema, fits);
  }
  return fits;
}

function fitsField(field: Field): Fits {
  if (Array.isArray(field)) {
    const item = fitsSchema(field[0] as Schema);
    return (v) => Array.isArray(v) && v.every(item);
  }
  if (typeof field === "object") return fitsSchema(field as Schema);
  if (!field.endsWith("?")) return PRIMITIVE_FITS[field as Primitive];
  const fits = PRIMITIVE_FITS[field.slice(0, -1) as Primitive];
  return (v) => v === undefined || fits(v);
}

function fieldProblem(value: unknown, field: Field, where: string): string | undefined {
  if (Array.isArray(field)) {
    if (!Array.isArray(value)) return `${where} is not a list`;
    for (let i = 0; i < value.length; i++) {
      const problem = schemaProblem(value[i], field[0] as Schema, `${where}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof field === "object") return schemaProblem(value, field as Schema, where);
  const optional = field.endsWith("?");
  if (value === undefined) return optional ? undefined : `${where} is missing`;
  switch (optional ? field.slice(0, -1) : field) {
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
  return `${where} has an unknown schema type`;
}
