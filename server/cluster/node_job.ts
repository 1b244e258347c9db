/**
 * A job one node leaves for another in the shared database (SPEC §9): today one kind,
 * removing a data file the node holds once the file's record has gone (a DTE through
 * another node) or names another node (the file uploaded again through it). A job row is
 * `(kind, payload)`; the payload is JSON, made and read here, pure.
 *
 * @module
 */

import { deviceNameProblem, MAX_FILE_ID } from "../../protocol/limits.ts";
import { checkNodeId } from "../node_id.ts";

/** Remove the node's copy of `device`'s file `fileID`, unless its record names the node. */
export interface RemoveFileJob {
  kind: "remove_file";
  device: string;
  fileID: number;
  /** Why the copy is not wanted: the file was deleted, or uploaded again, through `by`. */
  reason: "deleted" | "replaced";
  /** The node the DTE or the new upload went through. */
  by: string;
}

/** Every job a node runs. */
export type NodeJob = RemoveFileJob;

/** A job as its row holds it. */
export interface NodeJobRow {
  kind: string;
  payload: string;
}

/**
 * A job as a row's kind and payload.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeNodeJob } from "./node_job.ts";
 * assert.deepEqual(
 *   encodeNodeJob({ kind: "remove_file", device: "watch1", fileID: 3, reason: "deleted", by: "a" }),
 *   { kind: "remove_file", payload: '{"device":"watch1","fileID":3,"reason":"deleted","by":"a"}' },
 * );
 * ```
 */
export function encodeNodeJob(job: NodeJob): NodeJobRow {
  const { kind, ...fields } = job;
  return { kind, payload: JSON.stringify(fields) };
}

/**
 * A row's job, or why it is not one this iotnet runs (a kind from a newer iotnet, a payload
 * that does not parse or holds something else).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeNodeJob } from "./node_job.ts";
 * assert.equal(decodeNodeJob({ kind: "compact", payload: "{}" }).problem, "unknown job kind \"compact\"");
 * ```
 */
export function decodeNodeJob(row: NodeJobRow): { job: NodeJob; problem?: never } | {
  job?: never;
  problem: string;
} {
  if (row.kind !== "remove_file") {
    return { problem: `unknown job kind ${JSON.stringify(row.kind)}` };
  }
  let fields: unknown;
  try {
    fields = JSON.parse(row.payload);
  } catch {
    return { problem: "its payload is not JSON" };
  }
  const { device, fileID, reason, by } = (fields ?? {}) as Record<string, unknown>;
  if (typeof device !== "string" || deviceNameProblem(device) !== undefined) {
    return { problem: "its payload names no valid device" };
  }
  if (
    typeof fileID !== "number" || !Number.isInteger(fileID) || fileID < 0 || fileID > MAX_FILE_ID
  ) {
    return { problem: "its payload names no valid file ID" };
  }
  if (reason !== "deleted" && reason !== "replaced") {
    return { problem: "its payload gives no reason (deleted or replaced)" };
  }
  if (typeof by !== "string") return { problem: "its payload names no node" };
  try {
    checkNodeId(by);
  } catch {
    return { problem: "its payload names no valid node" };
  }
  return { job: { kind: "remove_file", device, fileID, reason, by } };
}
