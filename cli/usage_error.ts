/**
 * A command-line mistake: printed as one clean line, exit code 2.
 *
 * @module
 */

/** Exit code of a usage error. */
export const USAGE_EXIT_CODE = 2;

/** Bad arguments or options on the command line. */
export class UsageError extends Error {
  override name = "UsageError";
  readonly exitCode = USAGE_EXIT_CODE;
}

/**
 * Parses an integer argument in a range.
 *
 * @throws {UsageError} naming the bad value and the valid range.
 */
export function parseIntegerArg(what: string, text: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(text)) {
    throw new UsageError(`${what} must be an integer ${min}..${max}, not ${JSON.stringify(text)}`);
  }
  const value = Number(text);
  if (value < min || value > max) {
    throw new UsageError(`${what} must be an integer ${min}..${max}, not ${text}`);
  }
  return value;
}
