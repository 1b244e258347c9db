/**
 * The server's accept loop. A connection its peer reset before the server took it (a
 * port scanner, a balancer's health check that hangs up with a reset) makes Deno's
 * `accept` fail with `NotConnected` (it asks for the peer's address of a socket that has
 * none any more): that connection is skipped, not the end of accepting, which is what a
 * `for await` over the listener made of it. Another failure (too many open files, say) is
 * logged and accepting resumes after {@linkcode ACCEPT_RETRY_MS}; only closing the
 * listener ends the loop.
 *
 * @module
 */

import type { Clock } from "../internal/mod.ts";
import { describeIoError } from "./io_error.ts";

/** Pause after an `accept` that failed for a reason other than its own peer. */
export const ACCEPT_RETRY_MS = 100;

/** What the loop takes connections from: the shape of `Deno.Listener`. */
export interface Acceptor {
  accept(): Promise<Deno.Conn>;
}

/** Options of {@linkcode acceptEach}. */
export interface AcceptEachOptions {
  /** Handles one connection; what it throws closes that connection, logged. */
  onConnection: (conn: Deno.Conn) => void;
  log: (line: string) => void;
  clock: Clock;
}

/**
 * Accepts connections until the listener is closed.
 *
 * @param listener where connections come from.
 * @param options the handler, the log and the clock of the pause.
 * @returns when the listener is closed. Never rejects.
 */
export async function acceptEach(listener: Acceptor, options: AcceptEachOptions): Promise<void> {
  const { onConnection, log, clock } = options;
  for (;;) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
        return; // the listener was closed
      }
      if (
        error instanceof Deno.errors.NotConnected ||
        error instanceof Deno.errors.ConnectionReset ||
        error instanceof Deno.errors.ConnectionAborted
      ) {
        continue; // gone before it was taken: nothing to serve, nothing to say
      }
      log(
        `cannot accept a connection: ${describeIoError(error)}; trying again in ` +
          `${ACCEPT_RETRY_MS} ms`,
      );
      await new Promise<void>((resolve) => clock.setTimeout(resolve, ACCEPT_RETRY_MS));
      continue;
    }
    try {
      onConnection(conn);
    } catch (error) {
      log(`dropped a connection: ${describeIoError(error)}`);
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }
}
