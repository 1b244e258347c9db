/**
 * Runs a parsed edge command through its entry in the command table and turns every
 * outcome, success or failure, into a {@linkcode CommandResult}: a failure carries the
 * stable code of its error class (`protocol/errors.ts`), or of the local failure below.
 *
 * @module
 */

import { visible } from "../internal/mod.ts";
import { PeerUnreachableError, TransferError } from "../p2p/mod.ts";
import { RequestError } from "../protocol/errors.ts";
import type { AnyCommandSpec, CommandEnv } from "./commands/command.ts";
import { commandNamed, type RunnableCommand } from "./commands/mod.ts";
import { answer } from "./commands/private_chat.ts";
import { ConnectionClosedError } from "./connection.ts";
import { DisconnectedError } from "./server_link.ts";
import type { CommandFailure, CommandResult, EdgeErrorCode } from "./output.ts";

/**
 * The entry that runs `command`.
 *
 * @param command a parsed command.
 * @returns its entry in the command table (or the answer to a chat request).
 */
export function commandSpecOf(command: RunnableCommand): AnyCommandSpec {
  if (command.cmd === answer.word) return answer;
  const spec = commandNamed(command.cmd);
  if (!spec) throw new RangeError(`${command.cmd} is not in the command table`);
  return spec;
}

/**
 * Runs one command.
 *
 * @param env what commands run against.
 * @param command a parsed command.
 * @returns its result; never throws.
 */
export async function runCommand(
  env: CommandEnv,
  command: RunnableCommand,
): Promise<CommandResult> {
  const spec = commandSpecOf(command);
  try {
    const outcome = await spec.run(env, command);
    const fields = spec.json ? spec.json(outcome) : outcome;
    return { cmd: spec.word, ok: true, message: spec.render(outcome, command), ...fields };
  } catch (error) {
    return { ...failure(spec.word, error), ...spec.failureFields?.(command) };
  }
}

/**
 * Turns any error into a failed result with a stable code. Its message may quote the
 * server or a peer (an ABORT's reason), so it is made visible.
 *
 * @param cmd the command word.
 * @param error what it failed with.
 * @returns the failed result.
 */
export function failure(cmd: string, error: unknown): CommandFailure {
  const text = visible(error instanceof Error ? error.message : String(error));
  const fail = (code: EdgeErrorCode, message = text): CommandFailure => ({
    cmd,
    ok: false,
    error: code,
    message,
  });
  if (error instanceof RequestError) return fail(error.code);
  if (error instanceof DisconnectedError) return fail("disconnected");
  if (error instanceof ConnectionClosedError) {
    return fail("disconnected", `lost the connection to the server: ${text}`);
  }
  if (error instanceof PeerUnreachableError) return fail("offline");
  if (error instanceof TransferError) return fail(error.reason === "blocked" ? "blocked" : "io");
  return fail("io");
}
