/**
 * iotnet: a data collection and sharing network for IoT edge devices.
 *
 * As a library, this entry is what a program embedding iotnet needs:
 * {@linkcode startServer} runs a server in process (`server/mod.ts`), and
 * {@linkcode EdgeConnection} talks to one as an edge device (`client/mod.ts`), with the
 * typed requests, results and pushes of the protocol and the error classes a failed
 * request throws. Tools that speak the protocol themselves import the codec from
 * `protocol/mod.ts`; peer-to-peer transfers are in `p2p/mod.ts`. `docs/DECISIONS.md`
 * ("Public surface") says what is public and why.
 *
 * Run as the main module, this file is the `iotnet` command line:
 *
 * ```sh
 * deno run -A mod.ts server 0 3
 * deno run -A mod.ts edge 127.0.0.1 <port> 0
 * ```
 *
 * @example One device messages another through a server in the same process
 * ```ts
 * import assert from "node:assert/strict";
 * import { EdgeConnection, NotFoundError, type Push, startServer } from "./mod.ts";
 *
 * const dataDir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dataDir}/credentials.txt`, "watch1 pw1\nwatch2 pw2\n");
 * const server = await startServer({ attempts: 3, dataDir, log: () => {} });
 * const address = { hostname: "127.0.0.1", port: server.port };
 * const { promise: message, resolve } = Promise.withResolvers<Push>();
 * const watch1 = await EdgeConnection.connect(address);
 * const watch2 = await EdgeConnection.connect({
 *   ...address,
 *   onPush: (push) => push.event === "message" && resolve(push),
 * });
 * try {
 *   const logins = [[watch1, "watch1", "pw1"], [watch2, "watch2", "pw2"]] as const;
 *   for (const [edge, name, password] of logins) {
 *     await edge.request("login", { name, password });
 *     await edge.request("udp_port", { port: 40_000 });
 *   }
 *   const { delivery } = await watch1.request("message", { to: "watch2", text: "hello" });
 *   assert.equal(delivery, "online");
 *   assert.deepEqual(await message, {
 *     t: "push", event: "message", kind: "direct", from: "watch1", text: "hello",
 *   });
 *   await assert.rejects(watch1.request("startprivate", { device: "watch9" }), NotFoundError);
 * } finally {
 *   watch1.close();
 *   watch2.close();
 *   await server.close();
 *   await Deno.remove(dataDir, { recursive: true });
 * }
 * ```
 *
 * @module
 */

export { DataDirInUseError, startServer, StartupError, StoreError } from "./server/mod.ts";
export type {
  Clock,
  IotServer,
  LivenessTiming,
  LogFormat,
  OperatorHttpOptions,
  ScryptParams,
  ServerOptions,
  ServerSettings,
  TimerId,
  TlsIdentity,
} from "./server/mod.ts";
export {
  AlreadyActiveError,
  BadArgumentsError,
  BadCredentialsError,
  BlockedError,
  BusyError,
  CancelledError,
  ConnectError,
  ConnectionClosedError,
  EdgeConnection,
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
} from "./client/mod.ts";
// The tables the message and error-code types are read from.
export { ERROR_CLASSES, PUSHES, REQUESTS, RESULTS } from "./client/mod.ts";
export type {
  ConnectionStream,
  ConnectOptions,
  ErrorCode,
  Op,
  OpenOptions,
  Push,
  PushEvent,
  PushFields,
  RequestArgs,
  ResultFields,
  TransferIntroduction,
  UploadOptions,
  UploadSource,
} from "./client/mod.ts";

if (import.meta.main) {
  const { main } = await import("./cli/main.ts");
  Deno.exit(await main(Deno.args));
}
