/**
 * Whether an address to bind stays on this machine: the HTTP port binds only such an
 * address unless it is TLS or told `--insecure` (SPEC §8).
 *
 * @module
 */

/**
 * Tells whether `host` is a loopback address or `localhost`.
 *
 * @example
 * ```ts
 * import { isLoopbackHost } from "./loopback.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isLoopbackHost("127.0.0.2"), true);
 * assert.equal(isLoopbackHost("::1"), true);
 * assert.equal(isLoopbackHost("0.0.0.0"), false);
 * ```
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
