/**
 * What command handlers may touch: a narrow view of the server and of the session that
 * issued the command, so no handler needs the whole server object.
 *
 * @module
 */

import type { BufferPool, Clock } from "../internal/mod.ts";
import type { ActiveDevices } from "./active_devices.ts";
import type { DataDir } from "./data_dir.ts";
import type { Disk } from "./disk.ts";
import type { FileCommits } from "./file_commits.ts";
import type { ServerMetrics } from "./http/server_metrics.ts";
import type { PrivateChats } from "./private_chats.ts";
import type { ServerEvent } from "./server_event.ts";
import type { Blocks, FileRecords, Mailbox, PresenceHistory } from "./store/interfaces.ts";
import type { UploadTurns } from "./upload_turns.ts";

/** Server settings after defaults were applied. */
export interface ServerSettings {
  /** Address to bind (the one asked for; `IotServer.hostname` is the one bound). */
  hostname: string;
  /** TCP port asked for; 0 picks a free one (`IotServer.port` is the one bound). */
  port: number;
  /** Consecutive failed logins before a name is blocked. */
  attempts: number;
  /** Data directory, as given. */
  dataDir: string;
  /** Credentials file. */
  credentialsPath: string;
  /** How long a block lasts, in seconds. */
  blockSeconds: number;
  /** Seconds of silence before an active device is logged out; 0 turns it off. */
  idleTimeoutSeconds: number;
  /** Whether unknown names may create an account at login. */
  allowRegistration: boolean;
  /** Time a connection has to say hello and log in. */
  loginDeadlineMs: number;
  /** Keepalive interval: a connection silent this long is pinged, three times this closed. */
  keepaliveMs: number;
  /** Largest upload, in bytes. */
  maxUploadBytes: number;
  /** Messages one offline device may have waiting. */
  maxOfflineMessages: number;
  /** Bytes of text one offline device may have waiting. */
  maxOfflineBytes: number;
  /** Messages one sender may have waiting for one offline device. */
  maxOfflineMessagesPerSender: number;
  /** Bytes of text one sender may have waiting for one offline device. */
  maxOfflineBytesPerSender: number;
  /** Connections held at once. */
  maxConnections: number;
  /** Connections not yet logged in held at once. */
  maxPendingLogins: number;
  /** Connections not yet logged in held at once from one address. */
  maxPendingLoginsPerAddress: number;
  /** Accounts one address may register a minute (with `allowRegistration`). */
  registrationsPerMinute: number;
  /** Time a started frame has to arrive whole. */
  frameDeadlineMs: number;
  /**
   * The network this server is a node of (SPEC §9): its PostgreSQL URL and this node's
   * id; `undefined` when the server runs alone.
   */
  cluster: { url: string; nodeId: string } | undefined;
}

/**
 * Shared state of one running server, all of it made in `startServer`: two servers in one
 * process share none of it.
 */
export interface ServerContext {
  readonly settings: ServerSettings;
  readonly clock: Clock;
  readonly log: (line: string) => void;
  /**
   * Records an event the operator follows: its line in the log, and an entry of the
   * dashboard's event feed (a slot of a bounded ring: nothing waits).
   */
  readonly record: (event: ServerEvent) => void;
  readonly dataDir: DataDir;
  /** The server's turns for file operations and its shared fsyncs. */
  readonly disk: Disk;
  /** Uploaded files' records (SCS reads them; UED and DTE change them through `commits`). */
  readonly files: FileRecords;
  /** UED and DTE in their journalled order. */
  readonly commits: FileCommits;
  /** Messages stored for offline devices. */
  readonly mailbox: Mailbox;
  /** Who blocks whom. */
  readonly blocks: Blocks;
  /** When devices were last seen online. */
  readonly presenceHistory: PresenceHistory;
  readonly active: ActiveDevices;
  readonly privateChats: PrivateChats;
  /** Counters for `/metrics`: plain increments, nothing else (server/http/). */
  readonly metrics: ServerMetrics;
  /** Turns of the connections taking in upload bytes (server-wide, first come first served). */
  readonly uploadTurns: UploadTurns;
  /** Write batches of the uploads taking in bytes, passed on from one upload to the next. */
  readonly writeBatches: BufferPool;
  /** Whether `name` has an account. */
  knownDevice(name: string): Promise<boolean>;
}

/**
 * Receives the DATA frames of one stream (an upload). Its session writes to it only while
 * holding the connection's upload turn (`server/upload_turns.ts`).
 */
export interface StreamSink {
  /**
   * Takes the next bytes; resolves when they are consumed, which gives backpressure.
   *
   * @returns whether the stream expects more bytes.
   */
  write(bytes: Uint8Array): Promise<boolean>;
  /** The sender went quiet and the turn passed on: hold no buffer while waiting. */
  rest(): void;
  /** Gives up: the stream will get no more bytes. */
  abort(reason: string): Promise<void>;
}

/** The session a command came from, as its handler sees it. */
export interface CommandContext {
  readonly server: ServerContext;
  /** The logged-in device name. */
  readonly device: string;
  /** The peer's IP address. */
  readonly ip: string;
  /** Routes DATA frames of stream `id` to `sink`. */
  openStream(id: number, sink: StreamSink): void;
  /** Stops routing stream `id` to `sink`; frames still in flight for it are dropped. */
  closeStream(id: number, sink: StreamSink): void;
}
