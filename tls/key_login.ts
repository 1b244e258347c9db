/**
 * What a device signs to log in with its key (SPEC §7): a context string, the challenge
 * the server gave this connection in its hello reply, and the device name. The challenge
 * is fresh random bytes per connection, kept by that connection's session alone, so a
 * signature seen on one connection proves nothing on another; the context string keeps a
 * signature made for this from meaning anything elsewhere. (Deno exposes no TLS exporter,
 * so the binding to the TLS session is through the challenge sent inside it.)
 *
 * @module
 */

/** Domain separation: first bytes of every signed login. */
export const KEY_LOGIN_CONTEXT = "iotnet key login v1\0";
/** Bytes of a login challenge. */
export const CHALLENGE_BYTES = 32;

const encoder = new TextEncoder();

/** A fresh challenge for one connection. */
export function newChallenge(): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(CHALLENGE_BYTES));
}

/**
 * The bytes a device signs: context, challenge, a zero byte, the name (UTF-8).
 *
 * @example
 * ```ts
 * import { keyLoginMessage } from "./key_login.ts";
 * import assert from "node:assert/strict";
 * const bytes = keyLoginMessage(new Uint8Array(32), "watch1");
 * assert.equal(bytes.length, 20 + 32 + 1 + 6);
 * ```
 */
export function keyLoginMessage(challenge: Uint8Array, name: string): Uint8Array<ArrayBuffer> {
  const context = encoder.encode(KEY_LOGIN_CONTEXT);
  const nameBytes = encoder.encode(name);
  const out = new Uint8Array(context.length + challenge.length + 1 + nameBytes.length);
  out.set(context, 0);
  out.set(challenge, context.length);
  out.set(nameBytes, context.length + challenge.length + 1);
  return out;
}
