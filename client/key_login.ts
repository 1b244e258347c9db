/**
 * The edge's side of a key login (SPEC §7, docs/PROTOCOL.md "Key login"): ask for this
 * connection's challenge, sign it with the device key, send the signature.
 *
 * @module
 */

import type { ResultFields } from "../protocol/messages.ts";
import { signKeyLogin } from "../tls/device_key.ts";
import type { EdgeConnection } from "./connection.ts";

/**
 * Logs in on `connection` as `name` with the device key.
 *
 * @param connection a connection that has said hello.
 * @param options the device key and the name.
 * @returns the login result (the ticket key).
 * @throws {RequestError} as a password login would: `BadCredentialsError`, `BlockedError`...
 */
export async function loginWithKey(
  connection: EdgeConnection,
  options: { key: CryptoKey; name: string },
): Promise<ResultFields<"key_login">> {
  const { challenge } = await connection.request("key_challenge", {});
  const bytes = Uint8Array.from(atob(challenge), (c) => c.charCodeAt(0));
  const signature = await signKeyLogin(options.key, { challenge: bytes, name: options.name });
  return await connection.request("key_login", { name: options.name, signature });
}
