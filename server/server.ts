/**
 * The iotnet server: accepts TCP connections and runs a {@linkcode Session} for each,
 * with no lock shared between sessions. This is the only file that calls `Deno.listen`.
 *
 * @module
 */

import { join } from "node:path";
import { type Clock, systemClock } from "../internal/clock.ts";
import {
  DEFAULT_BLOCK_SECONDS,
  LOGIN_DEADLINE_MS,
  MAX_ATTEMPTS,
  MAX_OFFLINE_BYTES,
  MAX_OFFLINE_MESSAGES,
  MAX_UPLOAD_BYTES,
  MIN_ATTEMPTS,
} from "../protocol/limits.ts";
import { ActiveDevices } from "./active_devices.ts";
import { Authenticator } from "./auth.ts";
import type { ServerSettings } from "./context.ts";
import { CredentialsFile } from "./credentials.ts";
import { DataDir } from "./data_dir.ts";
import { PrivateChats } from "./private_chats.ts";
import { Session, type SessionHost } from "./session.ts";
import { Store } from "./store.ts";

/** Options of {@linkcode startServer}; all but `attempts` have defaults. */
export interface ServerOptions {
  /** Consecutive failed logins before a name is blocked, 1..5. */
  attempts: number;
  /** TCP port; 0 picks a free one. Default 0. */
  port?: number;
  /** Address to bind. Default `127.0.0.1`. */
  hostname?: string;
  /** Data directory. Default: the current directory. */
  dataDir?: string;
  /** Credentials file. Default `<dataDir>/credentials.txt`. */
  credentialsPath?: string;
  /** How long a block lasts. Default 10. */
  blockSeconds?: number;
  /** Inactivity logout; 0 (the default) turns it off. */
  idleTimeoutSeconds?: number;
  /** Lets unknown names create an account. Default false. */
  allowRegistration?: boolean;
  /** Time to say hello and log in. Default {@linkcode LOGIN_DEADLINE_MS}. */
  loginDeadlineMs?: number;
  /** Largest upload. Default {@linkcode MAX_UPLOAD_BYTES}. */
  maxUploadBytes?: number;
  /** Messages an offline device may have waiting. Default {@linkcode MAX_OFFLINE_MESSAGES}. */
  maxOfflineMessages?: number;
  /** Bytes of text an offline device may have waiting. Default {@linkcode MAX_OFFLINE_BYTES}. */
  maxOfflineBytes?: number;
  /** Receives one line per server event. Default: stdout. */
  log?: (line: string) => void;
  /** Time source. Default: the system clock. */
  clock?: Clock;
}

/** A running server. */
export interface IotServer extends AsyncDisposable {
  /** The address actually bound. */
  readonly hostname: string;
  readonly port: number;
  /** Settings in force, defaults applied. */
  readonly settings: ServerSettings;
  /** Stops accepting, logs every device out and waits until all is written. */
  close(): Promise<void>;
}

/**
 * Starts a server.
 *
 * @throws {RangeError} on an option out of range.
 * @throws {StoreError} when the database cannot be used.
 * @example
 * ```ts ignore
 * import { startServer } from "./server.ts";
 * await using server = await startServer({ attempts: 3, dataDir: "/tmp/iot" });
 * console.log(server.port);
 * ```
 */
export async function startServer(options: ServerOptions): Promise<IotServer> {
  const settings = resolveSettings(options);
  const clock = options.clock ?? systemClock;
  const log = options.log ?? ((line: string) => console.log(line));
  const dataDir = new DataDir(settings.dataDir);
  for (const removed of await dataDir.prepare()) log(`removed unfinished file ${removed}`);
  const store = new Store(dataDir.database);
  const credentials = new CredentialsFile(settings.credentialsPath, log);
  try {
    await credentials.accounts();
  } catch (error) {
    store.close();
    if (error instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(
        `credentials file ${settings.credentialsPath} does not exist; create it with one ` +
          "`name password` line per device, or pass --credentials",
      );
    }
    throw error;
  }
  const listener = Deno.listen({
    hostname: settings.hostname,
    port: settings.port,
    transport: "tcp",
  });
  const sessions = new Set<Session>();
  const host: SessionHost = {
    settings,
    clock,
    log,
    store,
    dataDir,
    active: new ActiveDevices(
      dataDir.activeLog,
      (e) => log(`cannot rewrite active-device log: ${e}`),
    ),
    auth: new Authenticator({
      credentials,
      store,
      clock,
      attempts: settings.attempts,
      blockMs: settings.blockSeconds * 1000,
    }),
    privateChats: new PrivateChats(),
    knownDevice: async (name) => (await credentials.accounts()).has(name),
    onClosed: (session) => sessions.delete(session),
  };

  const accepting = (async () => {
    for await (const conn of listener) {
      conn.setNoDelay(true);
      const session = new Session(host, conn, conn.remoteAddr.hostname);
      sessions.add(session);
      void session.run();
    }
  })().catch(() => {
    // The listener was closed.
  });

  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      listener.close();
      await accepting;
      await Promise.all([...sessions].map((s) => {
        s.push({
          t: "push",
          event: "logout",
          reason: "shutdown",
          message: "the server is shutting down",
        });
        return s.close("server shut down");
      }));
      await host.active.flushed();
      store.close();
    })();

  return {
    hostname: listener.addr.hostname,
    port: listener.addr.port,
    settings: { ...settings, port: listener.addr.port },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function resolveSettings(options: ServerOptions): ServerSettings {
  const { attempts } = options;
  if (!Number.isInteger(attempts) || attempts < MIN_ATTEMPTS || attempts > MAX_ATTEMPTS) {
    throw new RangeError(
      `attempts must be an integer ${MIN_ATTEMPTS}..${MAX_ATTEMPTS}, not ${attempts}`,
    );
  }
  const dataDir = options.dataDir ?? Deno.cwd();
  return {
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    attempts,
    dataDir,
    credentialsPath: options.credentialsPath ?? join(dataDir, "credentials.txt"),
    blockSeconds: options.blockSeconds ?? DEFAULT_BLOCK_SECONDS,
    idleTimeoutSeconds: options.idleTimeoutSeconds ?? 0,
    allowRegistration: options.allowRegistration ?? false,
    loginDeadlineMs: options.loginDeadlineMs ?? LOGIN_DEADLINE_MS,
    maxUploadBytes: options.maxUploadBytes ?? MAX_UPLOAD_BYTES,
    maxOfflineMessages: options.maxOfflineMessages ?? MAX_OFFLINE_MESSAGES,
    maxOfflineBytes: options.maxOfflineBytes ?? MAX_OFFLINE_BYTES,
  };
}
