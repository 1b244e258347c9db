/**
 * The edge's side of the iotnet protocol, for a program that embeds an edge connection
 * instead of running `iotnet edge`: {@linkcode EdgeConnection} says hello, sends typed
 * requests and matches their results, streams uploads from disk, and hands server pushes
 * to a callback. Its requests, results and pushes are the protocol's own types
 * ({@linkcode RequestArgs}, {@linkcode ResultFields}, {@linkcode Push}), and a failed
 * request throws the class of its wire code ({@linkcode NotFoundError},
 * {@linkcode BlockedError}, ...), so callers branch with `instanceof`.
 *
 * The interactive program (prompt, command table, rendering, peer transfers) is not part
 * of this surface: run `iotnet edge` for it. Peer-to-peer transfers are in `p2p/mod.ts`.
 *
 * @example A device logs in, registers its UDP port and asks who else is online
 * ```ts
 * import assert from "node:assert/strict";
 * import { EdgeConnection, NotFoundError } from "./mod.ts";
 * import { startServer } from "../server/mod.ts";
 *
 * const dataDir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dataDir}/credentials.txt`, "watch1 pw1\nwatch2 pw2\n");
 * const server = await startServer({ attempts: 3, dataDir, log: () => {} });
 * const edge = await EdgeConnection.connect({ hostname: "127.0.0.1", port: server.port });
 * try {
 *   await edge.request("login", { name: "watch1", password: "pw1" });
 *   await edge.request("udp_port", { port: 40_000 }); // where its peers would send
 *   const { devices } = await edge.request("whoelse", {});
 *   assert.deepEqual(devices, []);
 *   await assert.rejects(edge.request("delete", { fileID: 7 }), NotFoundError);
 * } finally {
 *   edge.close();
 *   await server.close();
 *   await Deno.remove(dataDir, { recursive: true });
 * }
 * ```
 *
 * @module
 */

export { ConnectError, ConnectionClosedError, EdgeConnection } from "./connection.ts";
export type { Clock, TimerId } from "../internal/mod.ts";
export type {
  ConnectionStream,
  ConnectOptions,
  OpenOptions,
  UploadOptions,
  UploadSource,
} from "./connection.ts";
export {
  AlreadyActiveError,
  BadArgumentsError,
  BadCredentialsError,
  BlockedError,
  BusyError,
  CancelledError,
  InternalError,
  InvalidDataError,
  IoError,
  NotFoundError,
  NotLoggedInError,
  OfflineError,
  ProtocolError,
  ProtocolViolationError,
  RequestError,
  RequestTimeoutError,
  SelfTargetError,
  TooLargeError,
  UnavailableError,
  UnsupportedVersionError,
} from "../protocol/mod.ts";
// The tables the message and error-code types are read from.
export { ERROR_CLASSES, PUSHES, REQUESTS, RESULTS } from "../protocol/mod.ts";
export type {
  ErrorCode,
  Op,
  Push,
  PushEvent,
  PushFields,
  RequestArgs,
  ResultFields,
  TransferIntroduction,
} from "../protocol/mod.ts";
