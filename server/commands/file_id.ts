/**
 * Validation of file IDs arriving in requests.
 *
 * @module
 */

import { MAX_FILE_ID } from "../../protocol/limits.ts";
import { BadArgumentsError } from "../../protocol/errors.ts";

/** @throws {BadArgumentsError} when `fileID` is not an integer 0..MAX_FILE_ID. */
export function checkFileID(fileID: number): void {
  if (fileID < 0 || fileID > MAX_FILE_ID) {
    throw new BadArgumentsError(`file ID must be an integer 0..${MAX_FILE_ID}, not ${fileID}`);
  }
}
