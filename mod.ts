/**
 * iotnet: a data collection and sharing network for IoT edge devices.
 *
 * As a library: {@linkcode startServer} runs a server in process, {@linkcode EdgeConnection}
 * talks to one, and the protocol's codec and types are exported for tools and tests.
 * Run as the main module, this file is the `iotnet` command line:
 *
 * ```sh
 * deno run -A mod.ts server 0 3
 * deno run -A mod.ts edge 127.0.0.1 <port> 0
 * ```
 *
 * @module
 */

export {
  DataDirInUseError,
  type IotServer,
  type ServerOptions,
  type ServerSettings,
  startServer,
  StartupError,
  StoreError,
} from "./server/mod.ts";
export { ConnectionClosedError, type ConnectOptions, EdgeConnection } from "./client/connection.ts";
export { type EdgeIO, type EdgeOptions, runEdge } from "./client/edge.ts";
export * from "./protocol/mod.ts";

if (import.meta.main) {
  const { main } = await import("./cli/main.ts");
  Deno.exit(await main(Deno.args));
}
