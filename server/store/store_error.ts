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
  /**
   * Makes the error.
   *
   * @param message one line for the operator: what is wrong and what to do.
   * @param options standard `ErrorOptions` (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    // Every subclass is named after itself, for logs and stack traces.
    this.name = new.target.name;
  }
}
