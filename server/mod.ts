/**
 * The iotnet server as a library: {@linkcode startServer} runs one in process on a TCP
 * port, over a data directory, and returns a handle to close it (or `await using`). Its
 * errors are the ones a caller handles: {@linkcode StartupError} when the surroundings
 * do not let it start ({@linkcode DataDirInUseError} when another server holds the data
 * directory), with a {@linkcode StoreError} as `cause` when the database is the problem.
 * Time comes from an injected {@linkcode Clock} (the system clock by default).
 *
 * The session, command handlers, store and data-directory code behind it are internal.
 *
 * @example Two servers in one process, each on its own port and data directory
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "./mod.ts";
 *
 * const [dirA, dirB] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
 * for (const dir of [dirA, dirB]) {
 *   await Deno.writeTextFile(`${dir}/credentials.txt`, "watch1 pw1\n");
 * }
 * {
 *   await using a = await startServer({ attempts: 3, dataDir: dirA, log: () => {} });
 *   await using b = await startServer({ attempts: 5, dataDir: dirB, log: () => {} });
 *   assert.notEqual(a.port, b.port);
 *   assert.equal(b.settings.attempts, 5);
 * }
 * for (const dir of [dirA, dirB]) await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

export { startServer } from "./server.ts";
export type { IotServer, ServerOptions, TlsIdentity } from "./server.ts";
export type { ScryptParams } from "./password_hash.ts";
export type { ServerSettings } from "./context.ts";
export type { OperatorHttpOptions } from "./http/operator_http.ts";
export type { LivenessTiming } from "./cluster/node_liveness.ts";
export { StoreError } from "./store/store_error.ts";
export { StartupError } from "./startup_error.ts";
export { DataDirInUseError } from "./data_dir_lock.ts";
export type { Clock, TimerId } from "../internal/mod.ts";
export type { LogFormat } from "./log_format.ts";
