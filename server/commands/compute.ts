/**
 * SCS: answers from the aggregates stored at upload, never re-reading the file.
 *
 * @module
 */

import { compute as computeOperation } from "../../protocol/compute.ts";
import type { RequestArgs, ResultFields } from "../../protocol/messages.ts";
import { NotFoundError } from "../../protocol/errors.ts";
import type { CommandContext } from "../context.ts";
import { checkFileID } from "./file_id.ts";

/** Handles `compute`. */
export async function compute(
  ctx: CommandContext,
  args: RequestArgs<"compute">,
): Promise<ResultFields<"compute">> {
  const { fileID, operation } = args;
  checkFileID(fileID);
  const file = await ctx.server.files.get(ctx.device, fileID);
  if (!file) {
    throw new NotFoundError(`file ${fileID} has not been uploaded by ${ctx.device}`);
  }
  const result = computeOperation(operation, file);
  ctx.server.log(`${ctx.device} computed ${operation} on file ${fileID}: ${result}`);
  return { op: operation, result };
}
