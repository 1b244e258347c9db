/**
 * DTE: removes one of the device's uploaded files and records it in `deletion-log.txt`.
 *
 * @module
 */

import type { RequestArgs, ResultFields } from "../../protocol/messages.ts";
import { NotFoundError } from "../../protocol/errors.ts";
import type { CommandContext } from "../context.ts";
import { checkFileID } from "./file_id.ts";

/** Handles `delete`. */
export async function deleteFile(
  ctx: CommandContext,
  args: RequestArgs<"delete">,
): Promise<ResultFields<"delete">> {
  const { fileID } = args;
  checkFileID(fileID);
  const { clock, commits } = ctx.server;
  // Forget the record and journal the delete in one transaction, then remove the file and
  // log it: a crash at any step is finished at the next start (server/file_commits.ts).
  const file = await commits.delete({
    device: ctx.device,
    fileID,
    deletedAt: clock.now(),
  });
  if (!file) {
    throw new NotFoundError(`file ${fileID} has not been uploaded by ${ctx.device}`);
  }
  ctx.server.record({ kind: "delete", device: ctx.device, fileID });
  return { fileID, dataAmount: file.count };
}
