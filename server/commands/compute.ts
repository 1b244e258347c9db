/**
 * SCS: answers from the aggregates stored at upload, never re-reading the file.
 *
 * @module
 */

import { compute as computeOperation, isOperation, OPERATIONS } from "../../protocol/compute.ts";
import type { RequestArgs, ResultFields } from "../../protocol/messages.ts";
import { type CommandContext, CommandError } from "../context.ts";
import { checkFileID } from "./file_id.ts";

/** Handles `compute`. */
export async function compute(
  ctx: CommandContext,
  args: RequestArgs<"compute">,
): Promise<ResultFields<"compute">> {
  const { fileID, operation } = args;
  checkFileID(fileID);
  if (!isOperation(operation)) {
    throw new CommandError("bad_args", `operation must be one of ${OPERATIONS.join(", ")}`);
  }
  const file = await ctx.server.files.get(ctx.device, fileID);
  if (!file) {
    throw new CommandError("not_found", `file ${fileID} has not been uploaded by ${ctx.device}`);
  }
  const result = computeOperation(operation, file);
  ctx.server.log(`${ctx.device} computed ${operation} on file ${fileID}: ${result}`);
  return { op: operation, result };
}
