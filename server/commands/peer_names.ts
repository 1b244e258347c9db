/**
 * Checks of a device name given as a command argument: well-formed, an account, not the
 * caller itself.
 *
 * @module
 */

import { deviceNameProblem, MAX_MESSAGE_BYTES } from "../../protocol/limits.ts";
import {
  BadArgumentsError,
  NotFoundError,
  SelfTargetError,
  TooLargeError,
} from "../../protocol/errors.ts";
import type { CommandContext } from "../context.ts";

/**
 * @throws {BadArgumentsError} for a malformed name.
 * @throws {NotFoundError} for an unknown device.
 * @throws {SelfTargetError} for the caller's own name.
 */
export async function checkOtherDevice(ctx: CommandContext, name: string): Promise<void> {
  const problem = deviceNameProblem(name);
  if (problem) throw new BadArgumentsError(problem);
  if (name === ctx.device) throw new SelfTargetError("that is this device itself");
  if (!(await ctx.server.knownDevice(name))) {
    throw new NotFoundError(`there is no device called ${name}`);
  }
}

/**
 * @throws {BadArgumentsError} for empty text.
 * @throws {TooLargeError} past the limit.
 */
export function checkText(text: string): void {
  if (text.trim() === "") throw new BadArgumentsError("the message is empty");
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_MESSAGE_BYTES) {
    throw new TooLargeError(`the message is ${bytes} bytes; the limit is ${MAX_MESSAGE_BYTES}`);
  }
}
