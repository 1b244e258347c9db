/**
 * The error of a server that cannot start because of its configuration or surroundings:
 * an address it cannot listen on, a data directory it cannot use or that another server
 * holds, a credentials file it cannot read. The message says what is wrong and what to do;
 * the command line prints it as one line and exits 1.
 *
 * @module
 */

/** The server cannot start; the operator must change something. */
export class StartupError extends Error {
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
