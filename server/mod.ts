/**
 * The iotnet server: {@linkcode startServer} and its types.
 *
 * @module
 */

export { type IotServer, type ServerOptions, startServer } from "./server.ts";
export type { ServerSettings } from "./context.ts";
export { StoreError } from "./store.ts";
export { parseCredentials } from "./credentials.ts";
