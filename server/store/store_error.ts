/**
 * The error every store implementation throws when its database cannot be used.
 *
 * @module
 */

/**
 * The database cannot be used (not a database, from a newer iotnet, unreachable); the
 * message is one line for the operator, saying what to do.
 */
export class StoreError extends Error {
  override name = "StoreError";
}
