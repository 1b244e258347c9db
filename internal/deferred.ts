/**
 * Small promise helpers, what std/async would give if JSR were reachable.
 *
 * @module
 */

/** A promise with its resolve and reject exposed. */
export interface Deferred<T> {
  /** Settles when `resolve` or `reject` is called. */
  promise: Promise<T>;
  /** Fulfils `promise` with `value`. */
  resolve(value: T): void;
  /** Rejects `promise` with `reason`. */
  reject(reason: unknown): void;
}

/** Creates a {@linkcode Deferred}. */
export function deferred<T>(): Deferred<T> {
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  return { promise, resolve, reject };
}
