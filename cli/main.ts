/**
 * The `iotnet` command line: one program, a subcommand per role. A usage error prints one
 * line and exits with its code (2); a server that cannot start prints one line and exits
 * 1; anything else is a bug: it prints its detail (the stack) and exits 1.
 *
 * @module
 */

import { Command, CommanderError } from "@commander-js/extra-typings";
import denoJson from "../deno.json" with { type: "json" };
import { StartupError } from "../server/mod.ts";
import { certCommand } from "./cert_command.ts";
import { edgeCommand } from "./edge_command.ts";
import { keygenCommand } from "./keygen_command.ts";
import { passwdCommand } from "./passwd_command.ts";
import { serverCommand } from "./server_command.ts";
import { USAGE_EXIT_CODE, UsageError } from "./usage_error.ts";

/** Exit code of a run that failed for any reason but a usage error. */
export const FAILURE_EXIT_CODE = 1;

/**
 * What `--version` prints: the program, its version, and the Deno that runs it.
 *
 * @returns e.g. `iotnet 0.1.0 (Deno 2.9.6)`.
 */
export function versionText(): string {
  return `iotnet ${denoJson.version} (Deno ${Deno.version.deno})`;
}

/** Builds the whole command tree. */
export function buildProgram(): Command {
  const program = new Command("iotnet")
    .description("data collection and sharing network for IoT edge devices")
    .version(versionText(), "-V, --version")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();
  for (
    const sub of [serverCommand(), edgeCommand(), passwdCommand(), certCommand(), keygenCommand()]
  ) {
    program.addCommand(sub.exitOverride().showHelpAfterError("(add --help for usage)"));
  }
  return program;
}

/**
 * Runs the CLI on `args` and returns the exit code.
 *
 * @param args the command-line arguments, without the program name.
 * @returns the exit code.
 */
export async function main(args: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(args, { from: "user" });
    return typeof Deno.exitCode === "number" ? Deno.exitCode : 0;
  } catch (error) {
    return reportFailure(error, console.error);
  }
}

/**
 * Says why the CLI stops and picks its exit code. The operator's mistakes (a usage error,
 * a server that cannot start where it was told to) are one clean line; anything else is a
 * bug and is printed whole, stack and causes included.
 *
 * @example
 * ```ts
 * import { reportFailure } from "./main.ts";
 * import { UsageError } from "./usage_error.ts";
 * import assert from "node:assert/strict";
 * const printed: unknown[][] = [];
 * const code = reportFailure(new UsageError("<port> must be 0..65535"), (...p) => printed.push(p));
 * assert.equal(code, 2);
 * assert.deepEqual(printed, [["iotnet: <port> must be 0..65535"]]);
 * ```
 *
 * @param error what ended the run.
 * @param print where to say it (`console.error`).
 * @returns the exit code.
 */
export function reportFailure(error: unknown, print: (...data: unknown[]) => void): number {
  // Commander has printed its own message (or the help, or the version) already.
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
  if (error instanceof UsageError) {
    print(`iotnet: ${error.message}`);
    return error.exitCode;
  }
  if (error instanceof StartupError) {
    print(`iotnet: ${error.message}`);
    return FAILURE_EXIT_CODE;
  }
  print("iotnet: unexpected error:", error);
  return FAILURE_EXIT_CODE;
}
