/**
 * Argument handling shared by the command lines under `scripts/` (not a command itself):
 * `node:util`'s `parseArgs` with `--help`, and one way to reject a bad argument (the
 * message, the usage, exit 2).
 *
 * @module
 */

import { parseArgs } from "node:util";

/** The options of a script, as `node:util`'s `parseArgs` takes them. */
export type CliOptions = Record<string, { type: "string" | "boolean"; short?: string }>;

/** What {@linkcode parseCli} needs besides the arguments. */
export interface CliSpec<O extends CliOptions> {
  /** Printed for `--help` (then exit 0) and after a bad argument (then exit 2). */
  usage: string;
  options: O;
  /** Whether arguments that are not options are allowed. Default false. */
  positionals?: boolean;
}

/** The parsed options (`undefined` when not given) and the other arguments. */
export interface CliArgs<O extends CliOptions> {
  values: { [K in keyof O]?: O[K]["type"] extends "boolean" ? boolean : string };
  positionals: string[];
}

/**
 * Parses a script's arguments. `--help` or `-h` prints the usage and exits 0; an unknown
 * option, a missing value or an unexpected argument prints what was wrong and the usage
 * and exits 2.
 *
 * @param args the arguments (`Deno.args`).
 * @param spec the usage and the options.
 * @returns the options given and the other arguments.
 */
export function parseCli<O extends CliOptions>(args: string[], spec: CliSpec<O>): CliArgs<O> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(spec.usage);
    Deno.exit(0);
  }
  try {
    const { values, positionals } = parseArgs({
      args,
      options: spec.options,
      allowPositionals: spec.positionals ?? false,
      strict: true,
    });
    return { values: values as CliArgs<O>["values"], positionals };
  } catch (error) {
    return usageError(spec.usage, (error as Error).message);
  }
}

/** Prints `problem` and the usage, and exits 2. */
export function usageError(usage: string, problem: string): never {
  console.error(`${problem}\n${usage}`);
  Deno.exit(2);
}

/** The rule of {@linkcode numberOption}. */
export interface NumberRule {
  /** The option's name as the user writes it: `--runs`, `<port>`. */
  name: string;
  min: number;
  max: number;
  /** The value when the option is not given. */
  fallback: number;
  /** Whether only whole numbers are allowed. Default false. */
  whole?: boolean;
  /** Printed after a bad value. */
  usage: string;
}

/**
 * An option's text as a number in `min..max`, or `fallback` when not given; a bad value
 * is a usage error (exit 2).
 *
 * @param text the option's value, `undefined` when it was not given.
 * @param rule the option's name, bounds, default and usage.
 * @returns the number.
 */
export function numberOption(text: string | undefined, rule: NumberRule): number {
  if (text === undefined) return rule.fallback;
  const value = Number(text);
  const kind = rule.whole ? "a whole number" : "a number";
  if (
    text.trim() === "" || !(value >= rule.min && value <= rule.max) ||
    (rule.whole && !Number.isInteger(value))
  ) {
    usageError(rule.usage, `${rule.name} needs ${kind} ${rule.min}..${rule.max}, not ${text}`);
  }
  return value;
}
