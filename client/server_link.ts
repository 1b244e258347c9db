/**
 * The edge's lasting link to the server (SPEC §1 "Staying connected"): the connection of
 * the moment, and when it drops, new ones. While the link is down a request fails at once
 * with {@linkcode DisconnectedError}; meanwhile it reconnects by itself, waiting
 * `reconnectDelayMs(attempt)` (1 s doubling to 30 s, with jitter) between attempts, and
 * logs in again with the same credentials. A login refused on reconnecting (wrong
 * password, blocked name) ends the link; so does a server that logged the device out on
 * purpose (idle, protocol), and any drop when reconnecting is off (`--no-reconnect`).
 * Peer transfers do not go through this link, so they go on while it is down.
 *
 * @module
 */

import { type Clock, deferred, systemClock, type TimerId } from "../internal/mod.ts";
import { BadCredentialsError, BlockedError } from "../protocol/errors.ts";
import type { Op, Push, PushFields, RequestArgs, ResultFields } from "../protocol/messages.ts";
import type { EdgeConnection, UploadOptions, UploadSource } from "./connection.ts";
import { reconnectDelayMs } from "./reconnect_backoff.ts";

/** The link to the server is down (it is reconnecting); the command was not sent. */
export class DisconnectedError extends Error {
  override name = "DisconnectedError";
}

/** What the link tells the edge about itself. */
export type LinkEvent =
  /** The connection dropped; `reconnecting` says whether the link tries again. */
  | { type: "lost"; reason: string; reconnecting: boolean }
  /** Attempt `attempt` to reconnect failed; the next comes after `delayMs`. */
  | { type: "retrying"; attempt: number; reason: string; delayMs: number }
  /** Logged in again over a new connection. */
  | { type: "restored"; attempts: number };

/** Why the link gave up for good. */
export interface LinkEnd {
  /** The sentence for people. */
  reason: string;
  /** A login was refused on reconnecting (the password no longer works, or the name is blocked). */
  refused: boolean;
  /** The server logged the device out on purpose and said why (idle, protocol). */
  logout?: PushFields<"logout">;
}

/** Options of {@linkcode ServerLink}. */
export interface ServerLinkOptions {
  /** Opens a new connection (connect and hello). */
  connect(): Promise<EdgeConnection>;
  /** Logs in over a new connection with the credentials of the first login, and registers. */
  login(connection: EdgeConnection): Promise<void>;
  /** Reconnect when the connection drops (`--no-reconnect` turns it off). */
  reconnect: boolean;
  /** Every push, with the connection it came over (acks go back over that one). */
  onPush(push: Push, via: EdgeConnection): void;
  onEvent(event: LinkEvent): void;
  /** Times the waits between attempts. Default: the system clock. */
  clock?: Clock;
  /** Jitter source; `Math.random` by default. */
  random?: () => number;
}

/** Logout reasons after which the device must not come back by itself. */
const FINAL_LOGOUTS: ReadonlySet<PushFields<"logout">["reason"]> = new Set(["idle", "protocol"]);

/**
 * Whether a `logout` push ends the edge (idle timeout, protocol error) rather than a
 * connection the edge makes again (a restart, a silent connection).
 *
 * @param reason the push's reason.
 * @returns true when the device must not reconnect by itself.
 */
export function isFinalLogout(reason: PushFields<"logout">["reason"]): boolean {
  return FINAL_LOGOUTS.has(reason);
}

/** The edge's link to the server, across reconnections. */
export class ServerLink {
  readonly #options: ServerLinkOptions;
  readonly #clock: Clock;
  readonly #ended = deferred<LinkEnd>();
  #connection: EdgeConnection | undefined;
  /** The connection a logout was sent over: its close is the end, not a loss. */
  #leaving: EdgeConnection | undefined;
  #closed = false;
  #wait: { timer: TimerId; wake(): void } | undefined;

  /** @param options how to connect and log in again, and whom to tell. */
  constructor(options: ServerLinkOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** Resolves when the link gives up for good (never after {@linkcode ServerLink.close}). */
  get ended(): Promise<LinkEnd> {
    return this.#ended.promise;
  }

  /** Whether a logged-in connection is up now. */
  get connected(): boolean {
    return this.#connection !== undefined;
  }

  /**
   * Takes a logged-in connection as the current one, and watches it.
   *
   * @param connection a connection whose login and registration succeeded.
   */
  attach(connection: EdgeConnection): void {
    if (this.#closed) return connection.close();
    this.#connection = connection;
    this.#route(connection);
    void connection.closed.then((reason) => this.#dropped(connection, reason));
  }

  /**
   * Sends a request over the current connection.
   *
   * @throws {DisconnectedError} at once while the link is down.
   * @throws {RequestError} when the server answers with an error.
   * @throws {ConnectionClosedError} when the connection drops before the answer.
   */
  request<O extends Op>(op: O, args: RequestArgs<O>): Promise<ResultFields<O>> {
    const connection = this.#current();
    // The server closes the connection right after its answer to a logout; that close may
    // be read before the edge has closed the link (behind haproxy the answer and the close
    // came in one read, and the edge said the connection was lost, reconnecting).
    if (op === "logout") this.#leaving = connection;
    return connection.request(op, args);
  }

  /**
   * Streams a file to the server over the current connection.
   *
   * @throws {DisconnectedError} at once while the link is down; see also
   *   {@linkcode EdgeConnection.upload}.
   */
  upload(
    fileID: number,
    source: UploadSource,
    size: number,
    options?: UploadOptions,
  ): Promise<ResultFields<"upload">> {
    return this.#current().upload(fileID, source, size, options);
  }

  /** Stops reconnecting and closes the current connection. */
  close(): void {
    this.#closed = true;
    this.#wait?.wake();
    const connection = this.#connection;
    this.#connection = undefined;
    connection?.close();
  }

  #route(connection: EdgeConnection): void {
    connection.onPush = (push) => this.#options.onPush(push, connection);
  }

  #current(): EdgeConnection {
    const connection = this.#connection;
    if (connection === undefined || connection.isClosed) {
      throw new DisconnectedError(
        "not connected to the server (reconnecting); try again once the connection is back",
      );
    }
    return connection;
  }

  #dropped(connection: EdgeConnection, reason: string): void {
    if (this.#closed || this.#connection !== connection) return;
    if (this.#leaving === connection) return this.close();
    this.#connection = undefined;
    const logout = connection.farewell;
    if (logout && isFinalLogout(logout.reason)) {
      this.#ended.resolve({ reason, refused: false, logout });
      return;
    }
    const reconnecting = this.#options.reconnect;
    this.#options.onEvent({ type: "lost", reason, reconnecting });
    if (!reconnecting) {
      this.#ended.resolve({
        reason: `lost the connection to the server: ${reason}`,
        refused: false,
      });
      return;
    }
    void this.#reconnect();
  }

  async #reconnect(): Promise<void> {
    const { connect, login, onEvent, random } = this.#options;
    let delayMs = reconnectDelayMs(1, random);
    for (let attempt = 1; !this.#closed; attempt++) {
      await this.#sleep(delayMs);
      if (this.#closed) return;
      delayMs = reconnectDelayMs(attempt + 1, random);
      let connection: EdgeConnection;
      try {
        connection = await connect();
      } catch (error) {
        this.#retrying(attempt, error, delayMs);
        continue;
      }
      this.#route(connection);
      try {
        await login(connection);
      } catch (error) {
        connection.close();
        if (error instanceof BadCredentialsError || error instanceof BlockedError) {
          this.#ended.resolve({
            reason: `the server refused the login on reconnecting: ${error.message}`,
            refused: true,
          });
          return;
        }
        this.#retrying(attempt, error, delayMs);
        continue;
      }
      if (this.#closed) return connection.close();
      this.attach(connection);
      onEvent({ type: "restored", attempts: attempt });
      return;
    }
  }

  #retrying(attempt: number, error: unknown, delayMs: number): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.#options.onEvent({ type: "retrying", attempt, reason, delayMs });
  }

  #sleep(ms: number): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    const wake = () => {
      this.#clock.clearTimeout(timer);
      this.#wait = undefined;
      resolve();
    };
    const timer = this.#clock.setTimeout(wake, ms);
    this.#wait = { timer, wake };
    return promise;
  }
}
