/**
 * Checks of a device name given as a command argument: well-formed, an account, not the
 * caller itself.
 *
 * @module
 */

import { deviceNameProblem, MAX_MESSAGE_BYTES } from "../../protocol/limits.ts";
import { type CommandContext, CommandError } from "../context.ts";

/**
 * @throws {CommandError} `bad_args` for a malformed name, `not_found` for an unknown
 *   device, `self` for the caller's own name.
 */
export async function checkOtherDevice(ctx: CommandContext, name: string): Promise<void> {
  const problem = deviceNameProblem(name);
  if (problem) throw new CommandError("bad_args", problem);
  if (name === ctx.device) throw new CommandError("self", "that is this device itself");
  if (!(await ctx.server.knownDevice(name))) {
    throw new CommandError("not_found", `there is no device called ${name}`);
  }
}

/** @throws {CommandError} `bad_args` for empty text, `too_large` past the limit. */
export function checkText(text: string): void {
  if (text.trim() === "") throw new CommandError("bad_args", "the message is empty");
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_MESSAGE_BYTES) {
    throw new CommandError(
      "too_large",
      `the message is ${bytes} bytes; the limit is ${MAX_MESSAGE_BYTES}`,
    );
  }
}
