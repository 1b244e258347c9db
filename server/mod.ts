/**
 * The iotnet server: {@linkcode startServer} and its types.
 *
 * @module
 */

export { type IotServer, type ServerOptions, startServer, type TlsIdentity } from "./server.ts";
export type { ServerSettings } from "./context.ts";
export { StoreError } from "./store/store_error.ts";
export { StartupError } from "./startup_error.ts";
export { DataDirInUseError } from "./data_dir_lock.ts";
export { parseCredentials } from "./credentials_format.ts";
