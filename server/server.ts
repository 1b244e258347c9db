/**
 * The iotnet server: accepts TCP connections and runs a {@linkcode Session} for each,
 * with no lock shared between sessions. This is the only file that calls `Deno.listen`.
 *
 * @module
 */

import { join } from "node:path";
import packageInfo from "../deno.json" with { type: "json" };
import { BufferPool, type Clock, systemClock } from "../internal/mod.ts";
import {
  CONCURRENT_UPLOADS,
  DEFAULT_BLOCK_SECONDS,
  FRAME_DEADLINE_MS,
  KEEPALIVE_MS,
  LOGIN_DEADLINE_MS,
  MAX_ATTEMPTS,
  MAX_CONNECTIONS,
  MAX_OFFLINE_BYTES,
  MAX_OFFLINE_BYTES_PER_SENDER,
  MAX_OFFLINE_MESSAGES,
  MAX_OFFLINE_MESSAGES_PER_SENDER,
  MAX_PENDING_LOGINS,
  MAX_PENDING_LOGINS_PER_ADDRESS,
  MAX_UPLOAD_BYTES,
  MIN_ATTEMPTS,
  REGISTRATIONS_PER_MINUTE,
  TLS_ALPN_PROTOCOL,
} from "../protocol/limits.ts";
import { encodeMessage } from "../protocol/codec.ts";
import { ActiveDevices } from "./active_devices.ts";
import { type ClusterNode, startClusterNode } from "./cluster/cluster_node.ts";
import type { LivenessTiming } from "./cluster/node_liveness.ts";
import type { DeviceRegistry } from "./device_registry.ts";
import { announcePresence } from "./presence.ts";
import { Admission, type AdmissionSlot } from "./admission.ts";
import { createEventLog } from "./event_log.ts";
import { formatLogLine, type LogFormat } from "./log_format.ts";
import { Authenticator } from "./auth.ts";
import { UPLOAD_WRITE_BYTES } from "./commands/upload.ts";
import type { ServerSettings } from "./context.ts";
import { CredentialsFile } from "./credentials_file.ts";
import { CREDENTIALS_FILE_MODE } from "./credentials_writer.ts";
import { DataDir } from "./data_dir.ts";
import { type DataDirLock, lockDataDir } from "./data_dir_lock.ts";
import { Disk } from "./disk.ts";
import { FileCommits } from "./file_commits.ts";
import { type RefusalReason, ServerMetrics } from "./http/server_metrics.ts";
import { EventRing, MAX_FEED_EVENTS } from "./http/event_ring.ts";
import { describeServerEvent, type ServerEvent } from "./server_event.ts";
import {
  type OperatorHttp,
  type OperatorHttpOptions,
  startOperatorHttp,
} from "./http/operator_http.ts";
import { describeIoError } from "./io_error.ts";
import {
  HASH_PROFILE_ENV,
  hashParamsFromEnv,
  PasswordHasher,
  type ScryptParams,
} from "./password_hash.ts";
import { endPrivateChats, type PrivateChatBook, PrivateChats } from "./private_chats.ts";
import { postgresPrivateChats } from "./store/postgres/private_chat_rows.ts";
import { RateLimit } from "./rate_limit.ts";
import { recoverDataDir } from "./recovery.ts";
import {
  Session,
  type SessionConn,
  type SessionHost,
  UPLOAD_READ_BUFFER_BYTES,
} from "./session.ts";
import { StartupError } from "./startup_error.ts";
import { checkNodeId } from "./node_id.ts";
import { NodeJobs } from "./cluster/node_jobs.ts";
import { NODE_JOBS_CHANNEL, postgresNodeJobs } from "./store/postgres/node_jobs.ts";
import { NotificationListener } from "./store/postgres/notification_listener.ts";
import type { Store, StoreOptions } from "./store/interfaces.ts";
import { PostgresDatabase, reason } from "./store/postgres/database.ts";
import { postgresStore, tracked } from "./store/postgres/store.ts";
import { openSqliteStore } from "./store/sqlite_store.ts";
import { StoreError } from "./store/store_error.ts";
import { UploadTurns } from "./upload_turns.ts";
import { setListenerNoDelay } from "./listener_no_delay.ts";
import type { acceptTls as acceptProxiedTls, ServerTlsContext } from "./proxied_tls.ts";
import { acceptEach } from "./accept_loop.ts";
import { acceptProxied, type ProxiedAcceptContext } from "./proxied_accept.ts";
import { handshakeTls } from "./tls_handshake.ts";
import { PreparedTls13Gate, Tls13Gate } from "./tls13_gate.ts";

/** The version this iotnet is (`iotnet_build_info`). */
const IOTNET_VERSION: string = packageInfo.version;

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
  /**
   * Keepalive interval: a connection silent this long is sent a `keepalive`, one silent
   * three times this long is closed. 0 turns it off. Default {@linkcode KEEPALIVE_MS}.
   */
  keepaliveMs?: number;
  /** Largest upload. Default {@linkcode MAX_UPLOAD_BYTES}. */
  maxUploadBytes?: number;
  /** Messages an offline device may have waiting. Default {@linkcode MAX_OFFLINE_MESSAGES}. */
  maxOfflineMessages?: number;
  /** Bytes of text an offline device may have waiting. Default {@linkcode MAX_OFFLINE_BYTES}. */
  maxOfflineBytes?: number;
  /**
   * Messages one sender may have waiting for one offline device.
   * Default {@linkcode MAX_OFFLINE_MESSAGES_PER_SENDER}.
   */
  maxOfflineMessagesPerSender?: number;
  /**
   * Bytes of text one sender may have waiting for one offline device.
   * Default {@linkcode MAX_OFFLINE_BYTES_PER_SENDER}.
   */
  maxOfflineBytesPerSender?: number;
  /** Connections held at once. Default {@linkcode MAX_CONNECTIONS}. */
  maxConnections?: number;
  /** Connections not yet logged in held at once. Default {@linkcode MAX_PENDING_LOGINS}. */
  maxPendingLogins?: number;
  /**
   * Connections not yet logged in held at once from one address.
   * Default {@linkcode MAX_PENDING_LOGINS_PER_ADDRESS}.
   */
  maxPendingLoginsPerAddress?: number;
  /**
   * Accounts one address may register a minute with `allowRegistration`.
   * Default {@linkcode REGISTRATIONS_PER_MINUTE}.
   */
  registrationsPerMinute?: number;
  /**
   * Cost of the hashes the server makes (registration) and of the dummy check that keeps
   * an unknown name as slow as a known one when the credentials file holds no hashes.
   * Default: the profile `IOTNET_HASH_PROFILE` names (`standard` when unset).
   */
  hashParams?: ScryptParams;
  /** Time a started frame has to arrive whole. Default {@linkcode FRAME_DEADLINE_MS}. */
  frameDeadlineMs?: number;
  /**
   * The PostgreSQL database of a network of servers (SPEC §9): the store lives there
   * instead of in the data directory's embedded database. Default: none, the server runs
   * alone on SQLite.
   */
  clusterUrl?: string;
  /**
   * This server's name in the network (with `clusterUrl`): 1 to `MAX_NODE_ID_LENGTH`
   * letters, digits, `.`, `_`, `-` (`node_id.ts`). Default: the machine's host name.
   */
  nodeId?: string;
  /**
   * Heartbeat, lease and sweep figures of a node (with `clusterUrl`). Default: those of
   * `server/cluster/node_liveness.ts` (`LIVENESS_TIMING`); tests shorten them.
   */
  clusterTiming?: LivenessTiming;
  /**
   * Time of a node's heartbeat, lease deadline, sweeps and LISTEN retries (with
   * `clusterUrl`). Default: the system clock, whatever `clock` is, since the database
   * measures the lease in real time; a test moving `clock` past a block must not move the
   * node past its lease.
   */
  clusterClock?: Clock;
  /**
   * Serve the operator's HTTP (SPEC §8: health, metrics, the device API) too. Default:
   * none.
   */
  http?: OperatorHttpOptions;
  /** Receives one line per server event. Default: stdout, in {@linkcode logFormat}. */
  log?: (line: string) => void;
  /** How stdout log lines look: ISO time then text, or JSON objects. Default `text`. */
  logFormat?: LogFormat;
  /** Time source. Default: the system clock. */
  clock?: Clock;
  /**
   * Certificate and key (PEM text) for TLS: with them the port speaks only TLS with ALPN
   * {@linkcode TLS_ALPN_PROTOCOL} (SPEC §7). Without them a non-loopback `hostname` needs
   * `insecure`.
   */
  tls?: TlsIdentity;
  /** Lets a server on a non-loopback address run without TLS (it warns). Default false. */
  insecure?: boolean;
  /**
   * Every connection starts with a PROXY protocol v2 header from the balancer in front
   * (SPEC §9; haproxy's `send-proxy-v2`), before TLS too: devices are known by the address
   * it gives (`server/proxied_accept.ts`). Only behind a balancer that alone can reach the
   * port: whoever can connect can claim any address. Default false.
   */
  proxyProtocol?: boolean;
}

/** A server's certificate chain and private key, both PEM text. */
export interface TlsIdentity {
  /** The certificate chain, PEM (`server.crt` from `iotnet cert`). */
  cert: string;
  /** Its private key, PKCS#8 PEM (`server.key`). */
  key: string;
}

/** A running server. */
export interface IotServer extends AsyncDisposable {
  /** The address actually bound. */
  readonly hostname: string;
  /** The TCP port actually bound (the one picked when the options asked for 0). */
  readonly port: number;
  /** Settings in force, defaults applied. */
  readonly settings: ServerSettings;
  /** The operator HTTP listener's address, when `http` was given. */
  readonly http?: { hostname: string; port: number; secure: boolean };
  /** Adds a line to the server's event log. */
  log(line: string): void;
  /** Stops accepting, logs every device out and waits until all is written. */
  close(): Promise<void>;
}

/**
 * Starts a server.
 *
 * @throws {RangeError} on an option out of range (the caller's mistake).
 * @throws {StartupError} when what the server finds around it does not let it start: an
 *   unknown `IOTNET_HASH_PROFILE`, a data directory it cannot use or that another server
 *   holds (`DataDirInUseError`), a credentials file it cannot read, a database it cannot
 *   use or a data directory it cannot make consistent (with the `StoreError` or
 *   `RecoveryError` as `cause`), an address it cannot listen on.
 * @example A server on a free port over a fresh data directory, closed at the end of its block
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "./server.ts";
 *
 * const dataDir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dataDir}/credentials.txt`, "watch1 pw1\n");
 * {
 *   await using server = await startServer({ attempts: 3, dataDir, log: () => {} });
 *   assert.ok(server.port > 0);
 *   assert.equal(server.settings.blockSeconds, 10);
 * }
 * await Deno.remove(dataDir, { recursive: true });
 * ```
 */
export async function startServer(options: ServerOptions): Promise<IotServer> {
  try {
    return await start(options);
  } catch (error) {
    // The database's errors say what is wrong with it and what to do; to whoever starts
    // the server they are one more reason it cannot start.
    if (error instanceof StoreError) throw new StartupError(error.message, { cause: error });
    throw error;
  }
}

async function start(options: ServerOptions): Promise<IotServer> {
  const settings = resolveSettings(options);
  // Refuse a bad IOTNET_HASH_PROFILE before anything is opened.
  let hashParams: ScryptParams;
  try {
    hashParams = options.hashParams ?? hashParamsFromEnv();
  } catch (error) {
    throw new StartupError(`${HASH_PROFILE_ENV}: ${(error as Error).message}`, { cause: error });
  }
  const clock = options.clock ?? systemClock;
  const format = options.logFormat ?? "text";
  const stdoutLog = options.log ? undefined : createEventLog(Deno.stdout, {
    format: (message) => formatLogLine(message, clock.now(), format),
  });
  const print = options.log ?? ((line: string) => stdoutLog!.line(line));
  // SPEC §1: `listening on HOST:PORT` is the first line. What start-up finds (repairs,
  // credential problems) is held back until that has been said.
  let early: string[] | undefined = [];
  const log = (line: string) => early ? early.push(line) : print(line);
  const dataDir = new DataDir(settings.dataDir);
  // Everything below is this server's own: two servers in one process share nothing.
  const disk = new Disk();
  // What start-up opens is closed again if a later step fails, in reverse order.
  await using opened = new AsyncDisposableStack();
  const repairs: string[] = [];
  opened.use(await openDataDir(dataDir, disk, repairs));
  const metrics = new ServerMetrics({ proxyProtocol: options.proxyProtocol ?? false });
  const commitSeconds = (seconds: number) => metrics.storeCommitDuration.observe(seconds);
  const { store, network } = await openStore(settings, dataDir, { log, commitSeconds });
  const db = network?.db;
  opened.defer(() => store.close());
  const commits = new FileCommits({ dataDir, files: store.files, disk, log });
  // Finish or undo what a crash cut short, before anyone is served (server/recovery.ts).
  const recovered = await recoverDataDir({
    dataDir,
    files: store.files,
    commits,
    disk,
    inNetwork: network !== undefined,
  });
  for (const repair of recovered) repairs.push(`recovery: ${repair}`);
  for (const repair of repairs) log(repair);
  if (network) {
    // Before the store closes (the stack disposes in reverse): its jobs use the pool.
    const { db, nodeId } = network;
    opened.use(
      await NodeJobs.start({
        node: nodeId,
        queue: postgresNodeJobs(db.sql, nodeId),
        listen: async (onNotify, onListen) => {
          const listener = new NotificationListener(db, {
            channels: [NODE_JOBS_CHANNEL],
            purpose: "jobs listen",
            onNotify: (_channel, payload) => onNotify(payload),
            onListening: onListen,
            onProblem: (problem) => log(`cluster: jobs: ${problem}`),
            clock,
          });
          await listener.start();
          return { unlisten: () => listener.close() };
        },
        commits,
        log,
        clock,
      }),
    );
  }
  const credentials = new CredentialsFile(settings.credentialsPath, { disk, onProblem: log });
  await readCredentials(credentials, settings.allowRegistration, log);
  // Ready before the listener, held at once after: only sockets accepted after the hold keep
  // their ClientHello back for the gate (one accepted in between is refused if TLS read its
  // first bytes first, and connects again).
  // (With PROXY headers, TLS after the header is node:tls's, which refuses 1.2 itself.)
  const prepared = options.tls && !options.proxyProtocol ? Tls13Gate.prepare() : undefined;
  let listener: Deno.Listener;
  let proxiedTls: ProxiedTls | undefined;
  try {
    // With PROXY headers the header comes before TLS: the port listens in clear and TLS
    // starts after it (server/proxied_tls.ts).
    if (options.proxyProtocol && options.tls) proxiedTls = await loadProxiedTls(options.tls);
    listener = listen(settings, options.proxyProtocol ? undefined : options.tls);
    requireTlsOffLoopback(listener, { ...options, hostname: settings.hostname });
  } catch (error) {
    if (prepared instanceof PreparedTls13Gate) prepared.cancel();
    for (const line of early) print(line);
    throw error;
  }
  const opened13 = prepared instanceof PreparedTls13Gate
    ? prepared.hold((listener.addr as Deno.NetAddr).port, { clock })
    : prepared;
  const gate = opened13 instanceof Tls13Gate ? opened13 : undefined;
  const sessions = new Set<Session>();
  const admission = new Admission(settings);
  const hasher = new PasswordHasher(hashParams);
  // The events the operator follows: each a log line and a slot of the feed's ring.
  const events = new EventRing<ServerEvent>(MAX_FEED_EVENTS);
  const record = (event: ServerEvent) => {
    events.add(clock.now(), event);
    log(describeServerEvent(event));
  };
  const privateChats: PrivateChatBook = db
    ? tracked(postgresPrivateChats(db.sql), { db, writes: [], commitSeconds: undefined })
    : new PrivateChats();
  // Alone: the registry. In a network: this node's view of the network's registry.
  const devices = new ActiveDevices(dataDir.activeLog, {
    disk,
    onError: (e) => log(`cannot rewrite active-device log: ${e}`),
  });
  let active: DeviceRegistry = devices;
  if (db) {
    let node: ClusterNode;
    try {
      node = await startClusterNode({
        db,
        node: settings.cluster!.nodeId,
        // The database measures the lease in real time: so do the node's renewals, whatever
        // clock the protocol's timers run on (as the store's group commit, below).
        clock: options.clusterClock ?? systemClock,
        view: devices,
        ...(options.clusterTiming && { timing: options.clusterTiming }),
        blockersOf: (device) => store.blocks.blockersOf(device),
        announce: (device, state) =>
          void announcePresence({ active, blocks: store.blocks }, device, state).catch((error) =>
            log(`cannot tell the others that ${device} is ${state}: ${error}`)
          ),
        swept: (device) => {
          store.presenceHistory.markSeen(device, clock.now())
            .catch((error) => log(`cannot record that ${device} was seen: ${error}`));
          endPrivateChats(privateChats, active, device)
            .catch((error) => log(`cannot end the private chats of ${device}: ${error}`));
        },
        endSessions: (why) => {
          for (const session of sessions) {
            if (session.device === undefined) continue;
            const message = `this server lost its hold on the network (${why}); log in again`;
            session.push({ t: "push", event: "logout", reason: "unavailable", message });
            void session.close(message, "unavailable");
          }
        },
        log,
      });
    } catch (error) {
      listener.close();
      for (const line of early) print(line);
      if (error instanceof StoreError) throw error;
      throw new StoreError(`cannot start the node on PostgreSQL ${db.where}: ${reason(error)}`, {
        cause: error,
      });
    }
    opened.defer(() => node.close());
    active = node.devices;
  }
  const auth = new Authenticator({
    credentials,
    loginAttempts: store.loginAttempts,
    clock,
    attempts: settings.attempts,
    blockMs: settings.blockSeconds * 1000,
    hashParams,
    hasher,
  });
  let closed: Promise<void> | undefined;
  let http: OperatorHttp | undefined;
  if (options.http) {
    try {
      http = await startOperatorHttp(options.http, {
        dataDir: settings.dataDir,
        metrics,
        active,
        files: store.files,
        presence: store.presenceHistory,
        lockouts: store.lockouts,
        mailbox: store.mailbox,
        accounts: async () => (await credentials.accounts()).size,
        events,
        failedLogins: (limit) => auth.recentFailures(limit),
        disk,
        clock,
        connections: () => admission.connections,
        notReady: () => closed ? "the server is shutting down" : undefined,
        log,
        version: IOTNET_VERSION,
      });
    } catch (error) {
      listener.close();
      gate?.close();
      for (const line of early) print(line);
      const where = `${options.http.hostname ?? "127.0.0.1"}:${options.http.port}`;
      throw new StartupError(
        `cannot serve the operator HTTP on ${where}: ${
          error instanceof RangeError ? error.message : describeIoError(error)
        }`,
        { cause: error },
      );
    }
  }
  const resources = opened.move();
  const addr = listener.addr as Deno.NetAddr;
  print(`listening on ${addr.hostname}:${addr.port}`);
  if (http) print(`http on ${http.hostname}:${http.port}`);
  // Behind a balancer, TLS runs in node:tls, TLS 1.3 only (server/proxied_tls.ts).
  const tls13 = gate !== undefined || (options.tls !== undefined && options.proxyProtocol);
  if (options.tls) {
    print(`devices connect with TLS${tls13 ? " 1.3" : ""}, ALPN ${TLS_ALPN_PROTOCOL}`);
  }
  if (opened13 && !(opened13 instanceof Tls13Gate)) {
    print(
      `warning: cannot refuse TLS 1.2 on the TLS port (${opened13.unavailable}); clients ` +
        "that offer only TLS 1.2 are accepted",
    );
  }
  if (options.proxyProtocol) {
    print("devices connect through a balancer: each connection starts with a PROXY v2 header");
  }
  const tlsListener = options.tls !== undefined && !options.proxyProtocol;
  if (tlsListener && !setListenerNoDelay(addr.port)) {
    print(
      "warning: cannot turn Nagle off on the TLS port (needs Linux and --allow-ffi); the " +
        "first reply on each connection may wait ~40 ms for a delayed ACK",
    );
  }
  if (!options.tls && !isLoopback(settings.hostname)) {
    print(
      `warning: --insecure: passwords and data cross the network to ${settings.hostname} in ` +
        "clear; give --tls-cert and --tls-key (make them with `iotnet cert`)",
    );
  }
  for (const line of early) print(line);
  print(startupSummary(repairs.length));
  early = undefined;
  const host: SessionHost = {
    metrics,
    settings,
    clock,
    log,
    record,
    dataDir,
    disk,
    files: store.files,
    commits,
    mailbox: store.mailbox,
    blocks: store.blocks,
    presenceHistory: store.presenceHistory,
    active,
    auth,
    hasher,
    privateChats,
    uploadTurns: new UploadTurns(CONCURRENT_UPLOADS, clock),
    // A buffer per upload turn at most is in use; the pools keep that many for reuse.
    readBuffers: new BufferPool(UPLOAD_READ_BUFFER_BYTES, CONCURRENT_UPLOADS),
    writeBatches: new BufferPool(UPLOAD_WRITE_BYTES, CONCURRENT_UPLOADS),
    registrations: new RateLimit(settings.registrationsPerMinute, clock),
    knownDevice: async (name) => (await credentials.accounts()).has(name),
    onClosed: (session) => sessions.delete(session),
  };

  const startSession = (conn: SessionConn, slot: AdmissionSlot) => {
    metrics.connections++;
    const session = new Session(host, conn, slot);
    sessions.add(session);
    void session.run();
  };
  // Ends what waits on a client (PROXY headers, TLS ClientHellos and handshakes) when the
  // server closes.
  const closing = new AbortController();
  const refused = (ip: string, reason: RefusalReason, detail: string) => {
    metrics.refusals.inc({ reason });
    record({ kind: "refused", ip, reason, detail });
  };
  const proxied: ProxiedAcceptContext = {
    admission,
    log,
    refused,
    clock,
    deadlineMs: settings.loginDeadlineMs,
    tls: proxiedTls && ((conn, rest) =>
      proxiedTls.acceptTls(conn, {
        context: proxiedTls.context,
        rest,
        deadlineMs: settings.loginDeadlineMs,
        clock,
        signal: closing.signal,
      })),
    startSession,
    refuse: (conn, message) => void refuse(conn, message),
    closing: closing.signal,
  };
  // TLS 1.3 checked and the handshake run on the TLS listener's connections, off the accept
  // loop; then `then`. Awaited when the server closes.
  const handshakes = new Set<Promise<void>>();
  const handshake = (conn: Deno.Conn, then: (problem: string | undefined) => unknown) => {
    const done = handshakeTls(conn as Deno.TlsConn, {
      gate,
      deadlineMs: settings.loginDeadlineMs,
      clock,
      signal: closing.signal,
    }).then((problem) => void then(problem));
    handshakes.add(done);
    void done.finally(() => handshakes.delete(done));
  };

  const accepting = acceptEach(listener, {
    log,
    clock,
    onConnection: (conn) => {
      // A TlsConn has no setNoDelay: it inherits TCP_NODELAY from the listener (above).
      if (!tlsListener) (conn as Deno.TcpConn).setNoDelay(true);
      if (options.proxyProtocol) {
        void acceptProxied(conn, proxied);
        return;
      }
      const ip = (conn.remoteAddr as Deno.NetAddr).hostname;
      const slot = admission.admit(ip);
      if ("reason" in slot) {
        refused(ip, slot.reason, slot.message);
        // Over TLS the reason goes out once the client has passed the same checks.
        if (!tlsListener) void refuse(conn, slot.message);
        else handshake(conn, (problem) => problem ? conn.close() : refuse(conn, slot.message));
        return;
      }
      const start = () => startSession(conn, slot);
      if (!options.tls) {
        start();
        return;
      }
      // At once: no round trip waits on the first read.
      handshake(conn, (problem) => {
        if (problem === undefined) return start();
        log(`TLS handshake with ${ip} failed: ${problem}`);
        slot.release();
        conn.close();
      });
    },
  });

  const close = () =>
    closed ??= (async () => {
      await http?.close();
      listener.close();
      closing.abort();
      await accepting;
      await Promise.all(handshakes);
      gate?.close();
      await Promise.all([...sessions].map((s) => {
        s.push({
          t: "push",
          event: "logout",
          reason: "shutdown",
          message: "the server is shutting down",
        });
        return s.close("server shut down", "shutdown");
      }));
      await host.active.flushed();
      await resources.disposeAsync(); // the database, then the data directory's lock
      await stdoutLog?.flush();
    })();

  return {
    hostname: addr.hostname,
    port: addr.port,
    settings: { ...settings, port: addr.port },
    ...(http && { http: { hostname: http.hostname, port: http.port, secure: http.secure } }),
    log,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * The store: on the network's PostgreSQL database with a cluster URL (with the database,
 * which the node's cluster work shares), else on the data directory's SQLite file.
 *
 * @throws {StoreError} when the database cannot be used.
 */
async function openStore(
  settings: ServerSettings,
  dataDir: DataDir,
  { log, ...options }: StoreOptions & { log: (line: string) => void },
): Promise<{ store: Store; network?: { db: PostgresDatabase; nodeId: string } }> {
  const { cluster } = settings;
  // Group commit paces disk syncs in real time, whatever clock the protocol's timers run on:
  // a test in virtual time still sees its changes stored without moving the clock.
  if (!cluster) return { store: openSqliteStore(dataDir.database, systemClock, options) };
  const db = await PostgresDatabase.open(cluster.url, {
    applicationName: `iotnet ${cluster.nodeId}`,
    log,
  });
  log(`cluster: node ${cluster.nodeId} on PostgreSQL ${db.where}`);
  return {
    store: postgresStore(db, cluster.nodeId, options),
    network: { db, nodeId: cluster.nodeId },
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
  if (options.nodeId !== undefined && options.clusterUrl === undefined) {
    throw new RangeError("a node id is given without a cluster URL; give both or neither");
  }
  return {
    cluster: options.clusterUrl === undefined
      ? undefined
      : { url: options.clusterUrl, nodeId: checkNodeId(options.nodeId ?? Deno.hostname()) },
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    attempts,
    dataDir,
    credentialsPath: options.credentialsPath ?? join(dataDir, "credentials.txt"),
    blockSeconds: options.blockSeconds ?? DEFAULT_BLOCK_SECONDS,
    idleTimeoutSeconds: options.idleTimeoutSeconds ?? 0,
    allowRegistration: options.allowRegistration ?? false,
    loginDeadlineMs: options.loginDeadlineMs ?? LOGIN_DEADLINE_MS,
    keepaliveMs: options.keepaliveMs ?? KEEPALIVE_MS,
    maxUploadBytes: options.maxUploadBytes ?? MAX_UPLOAD_BYTES,
    maxOfflineMessages: options.maxOfflineMessages ?? MAX_OFFLINE_MESSAGES,
    maxOfflineBytes: options.maxOfflineBytes ?? MAX_OFFLINE_BYTES,
    maxOfflineMessagesPerSender: options.maxOfflineMessagesPerSender ??
      MAX_OFFLINE_MESSAGES_PER_SENDER,
    maxOfflineBytesPerSender: options.maxOfflineBytesPerSender ?? MAX_OFFLINE_BYTES_PER_SENDER,
    maxConnections: options.maxConnections ?? MAX_CONNECTIONS,
    maxPendingLogins: options.maxPendingLogins ?? MAX_PENDING_LOGINS,
    maxPendingLoginsPerAddress: options.maxPendingLoginsPerAddress ??
      MAX_PENDING_LOGINS_PER_ADDRESS,
    registrationsPerMinute: options.registrationsPerMinute ?? REGISTRATIONS_PER_MINUTE,
    frameDeadlineMs: options.frameDeadlineMs ?? FRAME_DEADLINE_MS,
  };
}

/**
 * Creates the data directory if it is missing, takes it for this process, and clears
 * what a crash left there (`DataDir.prepare`).
 *
 * @returns the lock, held until it is disposed of.
 * @throws {StartupError} when it is not a directory, cannot be created, locked or
 *   prepared, or another server holds it (`DataDirInUseError`).
 */
/** The line that sums up what start-up repaired (the repairs themselves are logged first). */
function startupSummary(repairs: number): string {
  return repairs === 0
    ? "start-up check: the data directory is consistent, nothing to repair"
    : `start-up check: made ${repairs} repair${repairs === 1 ? "" : "s"} to the data ` +
      "directory left by an unclean stop (listed above)";
}

/** Locks the data directory and clears what an unclean stop left; says what in `repairs`. */
async function openDataDir(
  dataDir: DataDir,
  disk: Disk,
  repairs: string[],
): Promise<DataDirLock> {
  const root = dataDir.root;
  let lock: DataDirLock | undefined;
  try {
    const info = await disk.stat(root);
    if (info && !info.isDirectory) {
      throw new StartupError(`data directory ${root} is not a directory`);
    }
    if (!info) await Deno.mkdir(root, { recursive: true });
    lock = await lockDataDir(root);
    for (const removed of await dataDir.prepare(disk)) {
      repairs.push(`removed unfinished file ${removed}`);
    }
    return lock;
  } catch (error) {
    lock?.[Symbol.dispose]();
    if (error instanceof StartupError) throw error;
    throw new StartupError(`cannot use data directory ${root}: ${describeIoError(error)}`, {
      cause: error,
    });
  }
}

/**
 * Reads the credentials file once, so its problems are logged at start. With
 * registration on, a missing file is created empty (mode 0600): devices fill it.
 *
 * @throws {StartupError} when it is missing (without registration), cannot be created or
 *   cannot be read.
 */
async function readCredentials(
  credentials: CredentialsFile,
  allowRegistration: boolean,
  log: (line: string) => void,
): Promise<void> {
  const path = credentials.path;
  if (allowRegistration) {
    try {
      const empty = new Uint8Array(0);
      await Deno.writeFile(path, empty, { createNew: true, mode: CREDENTIALS_FILE_MODE });
      log(`created the empty credentials file ${path}; devices that register are added to it`);
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) {
        throw new StartupError(
          `cannot create the credentials file ${path}: ${describeIoError(error)}; ` +
            "give --credentials a file in a directory that exists",
          { cause: error },
        );
      }
    }
  }
  try {
    await credentials.accounts();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new StartupError(
        `credentials file ${path} does not exist; create it with one ` +
          "`name password` line per device, or pass --credentials",
        { cause: error },
      );
    }
    throw new StartupError(
      `cannot read the credentials file ${path}: ${describeIoError(error)}; ` +
        "give --credentials a readable file",
      { cause: error },
    );
  }
}

/**
 * Listens on the configured address.
 *
 * @throws {StartupError} when the address cannot be listened on.
 */
function listen(settings: ServerSettings, tls: TlsIdentity | undefined): Deno.Listener {
  const { hostname, port } = settings;
  try {
    if (tls) {
      return Deno.listenTls({
        hostname,
        port,
        transport: "tcp",
        cert: tls.cert,
        key: tls.key,
        alpnProtocols: [TLS_ALPN_PROTOCOL],
      });
    }
    return Deno.listen({ hostname, port, transport: "tcp" });
  } catch (error) {
    const where = `cannot listen on ${hostname}:${port}`;
    if (error instanceof Deno.errors.AddrInUse) {
      throw new StartupError(
        `${where}: the port is in use; stop what uses it or pick another port (0 picks a free one)`,
        { cause: error },
      );
    }
    if (tls && error instanceof Deno.errors.InvalidData) {
      throw new StartupError(
        `${where} with TLS: ${(error as Error).message}; give --tls-cert and --tls-key the ` +
          "server.crt and server.key that `iotnet cert` wrote",
        { cause: error },
      );
    }
    throw new StartupError(`${where}: ${describeIoError(error)}; check --host and the port`, {
      cause: error,
    });
  }
}

/** TLS after a PROXY header: `server/proxied_tls.ts`, loaded, and the server's identity. */
interface ProxiedTls {
  acceptTls: typeof acceptProxiedTls;
  context: ServerTlsContext;
}

/**
 * Loads TLS after a PROXY header and checks the certificate and key before anything
 * listens. `node:tls` is loaded only here, for the servers that need it.
 *
 * @throws {StartupError} when they cannot be used.
 */
async function loadProxiedTls(tls: TlsIdentity): Promise<ProxiedTls> {
  const { acceptTls, serverTlsContext } = await import("./proxied_tls.ts");
  try {
    return { acceptTls, context: serverTlsContext(tls) };
  } catch (error) {
    throw new StartupError(
      `cannot use the TLS certificate and key: ${(error as Error).message}; give --tls-cert ` +
        "and --tls-key the server.crt and server.key that `iotnet cert` wrote",
      { cause: error },
    );
  }
}

/**
 * SPEC §7: a server other machines can reach speaks TLS, unless told otherwise. Checked
 * once the address is bound, so an address that cannot be used at all says so first.
 *
 * @throws {StartupError} (after closing `listener`) when the rule is broken.
 */
function requireTlsOffLoopback(listener: Deno.Listener, options: ServerOptions): void {
  const hostname = options.hostname ?? "127.0.0.1";
  const bound = (listener.addr as Deno.NetAddr).hostname;
  if (options.tls || options.insecure || isLoopback(bound)) return;
  listener.close();
  throw new StartupError(
    `--host ${hostname} is reachable from other machines: give --tls-cert and --tls-key ` +
      "(make them with `iotnet cert <dir> --host <name>`), or --insecure to send " +
      "passwords and data in clear",
  );
}

/** Whether `hostname` is a loopback address, reachable only from this machine. */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** Tells a connection it was refused, then closes it. */
async function refuse(conn: SessionConn, reason: string): Promise<void> {
  const frame = encodeMessage({
    t: "push",
    event: "logout",
    reason: "busy",
    message: `the server is busy (${reason}); try again later`,
  });
  try {
    await conn.write(frame);
  } catch {
    // the peer is already gone
  } finally {
    conn.close();
  }
}
