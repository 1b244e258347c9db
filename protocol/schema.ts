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
 * Checks `value` against `schema`.
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
