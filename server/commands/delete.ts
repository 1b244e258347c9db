/**
 * DTE: removes one of the device's uploaded files and records it in `deletion-log.txt`.
 *
 * @module
 */

import type { RequestArgs, ResultFields } from "../../protocol/messages.ts";
import { appendLine, syncDirectory } from "../data_dir.ts";
import { type CommandContext, CommandError } from "../context.ts";
import { formatTimestamp } from "../timestamp.ts";
import { checkFileID } from "./file_id.ts";

/** Handles `delete`. */
export async function deleteFile(
  ctx: CommandContext,
  args: RequestArgs<"delete">,
): Promise<ResultFields<"delete">> {
  const { fileID } = args;
  checkFileID(fileID);
  const { store, dataDir, clock, log } = ctx.server;
  const file = store.getFile(ctx.device, fileID);
  if (!file) {
    throw new CommandError("not_found", `file ${fileID} has not been uploaded by ${ctx.device}`);
  }
  // Forget it first: a crash after this leaves an orphan file, never a record without one.
  store.deleteFile(ctx.device, fileID);
  const path = dataDir.uploadPath(ctx.device, fileID);
  await Deno.remove(path).catch((error) => {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  });
  await syncDirectory(path);
  await appendLine(
    dataDir.deletionLog,
    `${ctx.device}; ${formatTimestamp(clock.now())}; ${fileID}; ${file.count}`,
  );
  log(`${ctx.device} deleted file ${fileID}`);
  return { fileID, dataAmount: file.count };
}
