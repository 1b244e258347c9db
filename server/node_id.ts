/**
 * The id of a server in a network of servers (`--node-id`, SPEC §9).
 *
 * @module
 */

/** Longest node id. */
export const MAX_NODE_ID_LENGTH = 64;
const NODE_ID = new RegExp(`^[A-Za-z0-9._-]{1,${MAX_NODE_ID_LENGTH}}$`);

/**
 * Checks a node id: 1 to {@linkcode MAX_NODE_ID_LENGTH} letters, digits, `.`, `_`, `-`.
 *
 * @param id the id.
 * @returns `id`.
 * @throws {RangeError} naming the bad id and what an id may be.
 * @example
 * ```ts
 * import { checkNodeId } from "./node_id.ts";
 * import assert from "node:assert/strict";
 * assert.equal(checkNodeId("node-1"), "node-1");
 * assert.throws(() => checkNodeId("a b"), RangeError);
 * ```
 */
export function checkNodeId(id: string): string {
  if (!NODE_ID.test(id)) {
    throw new RangeError(
      `node id ${JSON.stringify(id)} must be 1..${MAX_NODE_ID_LENGTH} letters, digits, ` +
        "'.', '_' or '-'",
    );
  }
  return id;
}
