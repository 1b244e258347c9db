/**
 * A guard for a known postgres.js 3.4 defect (porsager/postgres#1154, #1066; fix proposed in
 * #1168, not released in 3.4.10): a small write is deferred with `setImmediate`, and when
 * the connection closes before it runs (PostgreSQL stopped, `pg_terminate_backend`, a
 * network cut) the deferred write reads `write` of the socket it has already set to null.
 * The query was already rejected with `CONNECTION_CLOSED`, so the write is moot, but thrown
 * from a timer callback it escapes every `await` and ends the process: seen here once, as an
 * uncaught error of `tests/cluster_network_test.ts` under a load average of 30.
 *
 * @module
 */

/** Whether `error` is that deferred write to a closed postgres.js connection. */
export function isClosedSocketWrite(error: unknown): boolean {
  return error instanceof TypeError &&
    error.message === "Cannot read properties of null (reading 'write')" &&
    /\bnextWrite\b/.test(error.stack ?? "") && /postgres/.test(error.stack ?? "");
}

/**
 * Keeps that error (and only it) from ending the process while the guard is up: it is
 * reported through `onCaught` instead.
 *
 * @returns a function that takes the guard down.
 */
export function guardClosedSocketWrites(onCaught: (error: TypeError) => void): () => void {
  const listener = (event: ErrorEvent) => {
    if (!isClosedSocketWrite(event.error)) return;
    event.preventDefault();
    onCaught(event.error);
  };
  globalThis.addEventListener("error", listener);
  return () => globalThis.removeEventListener("error", listener);
}
