/**
 * The `iotnet` command line: one program, a subcommand per role. Usage errors print one
 * line and exit 2; anything unexpected prints its detail and exits 1.
 *
 * @module
 */

import { Command, CommanderError } from "@commander-js/extra-typings";
import denoJson from "../deno.json" with { type: "json" };
import { StartupError, StoreError } from "../server/mod.ts";
import { edgeCommand } from "./edge_command.ts";
import { passwdCommand } from "./passwd_command.ts";
import { serverCommand } from "./server_command.ts";
import { UsageError } from "./usage_error.ts";

/** Builds the whole command tree. */
export function buildProgram(): Command {
  const program = new Command("iotnet")
    .description("data collection and sharing network for IoT edge devices")
    .version(denoJson.version, "-V, --version")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();
  for (const sub of [serverCommand(), edgeCommand(), passwdCommand()]) {
    program.addCommand(sub.exitOverride().showHelpAfterError("(add --help for usage)"));
  }
  return program;
}

/**
 * Runs the CLI on `args` and returns the exit code.
 */
export async function main(args: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(args, { from: "user" });
    return typeof Deno.exitCode === "number" ? Deno.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof UsageError) {
      console.error(`iotnet: ${error.message}`);
      return error.exitCode;
    }
    if (
      error instanceof StartupError || error instanceof StoreError || error instanceof RangeError
    ) {
      console.error(`iotnet: ${(error as Error).message}`);
      return 1;
    }
    console.error("iotnet: unexpected error:", error);
    return 1;
  }
}
