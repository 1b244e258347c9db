/**
 * Device keys (SPEC §7): Ed25519 key pairs made by `iotnet keygen`, the private half a
 * PKCS#8 PEM file on the device, the public half a `name ed25519$<base64>` line in the
 * server's credentials file.
 *
 * @module
 */

/** The credentials-file prefix of a device's public key. */
export const ED25519_PREFIX = "ed25519$";
/** Bytes of a raw Ed25519 public key. */
export const ED25519_PUBLIC_KEY_BYTES = 32;

const PEM_LABEL = "PRIVATE KEY";

/** A new device key: the private key as PEM, the public key as raw bytes. */
export interface DeviceKey {
  privatePem: string;
  publicKey: Uint8Array;
}

/**
 * Makes a new Ed25519 device key.
 *
 * @example
 * ```ts
 * import { generateDeviceKey, credentialsLine } from "./device_key.ts";
 * const key = await generateDeviceKey();
 * if (!credentialsLine("watch1", key.publicKey).startsWith("watch1 ed25519$")) throw new Error();
 * ```
 *
 * @returns the private key (PKCS#8 PEM) and the raw public key.
 */
export async function generateDeviceKey(): Promise<DeviceKey> {
  const pair = await crypto.subtle.generateKey("Ed25519", true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return { privatePem: toPem(pkcs8), publicKey };
}

/**
 * The credentials-file line for a device's public key.
 *
 * @param name the device name.
 * @param publicKey the raw 32-byte Ed25519 public key.
 * @returns `<name> ed25519$<base64>`.
 */
export function credentialsLine(name: string, publicKey: Uint8Array): string {
  return `${name} ${ED25519_PREFIX}${toBase64(publicKey)}`;
}

/**
 * Reads a device's private key from PEM.
 *
 * @param pem the contents of a key file from `iotnet keygen`.
 * @returns the signing key.
 * @throws {SyntaxError} when the text is not an Ed25519 private key in PKCS#8 PEM.
 */
export async function importDevicePrivateKey(pem: string): Promise<CryptoKey> {
  const match = pem.match(
    /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/,
  );
  if (!match) throw new SyntaxError("not a PEM private key (make one with `iotnet keygen`)");
  try {
    const der = Uint8Array.from(atob(match[1]!.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
    return await crypto.subtle.importKey("pkcs8", der, "Ed25519", false, ["sign"]);
  } catch (error) {
    throw new SyntaxError("not an Ed25519 private key (make one with `iotnet keygen`)", {
      cause: error,
    });
  }
}

/**
 * Reads a public key from its credentials-file form.
 *
 * @param text the part after the name: `ed25519$<base64>`.
 * @returns the raw public key, or undefined when `text` is not one.
 */
export function parsePublicKey(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!text.startsWith(ED25519_PREFIX)) return undefined;
  const b64 = text.slice(ED25519_PREFIX.length);
  if (!/^[A-Za-z0-9+/]{43}=$/.test(b64)) return undefined;
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return bytes.length === ED25519_PUBLIC_KEY_BYTES ? bytes : undefined;
}

function toPem(der: Uint8Array): string {
  const lines = toBase64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${PEM_LABEL}-----\n${lines.join("\n")}\n-----END ${PEM_LABEL}-----\n`;
}

/** Context string that starts every key-login signature (domain separation). */
export const KEY_LOGIN_CONTEXT = "iotnet/1 key login\0";
/** Bytes of the server's key-login challenge. */
export const KEY_LOGIN_CHALLENGE_BYTES = 32;

/**
 * What a device signs to log in with its key: the context string, the server's
 * challenge (fresh, per connection, used once) and the name.
 *
 * @param challenge the server's challenge.
 * @param name the device name.
 * @returns the bytes to sign.
 */
export function keyLoginPayload(challenge: Uint8Array, name: string): Uint8Array<ArrayBuffer> {
  const context = new TextEncoder().encode(KEY_LOGIN_CONTEXT);
  const nameBytes = new TextEncoder().encode(name);
  const out = new Uint8Array(context.length + challenge.length + nameBytes.length);
  out.set(context, 0);
  out.set(challenge, context.length);
  out.set(nameBytes, context.length + challenge.length);
  return out;
}

/**
 * Signs a key login.
 *
 * @param key the device's private key.
 * @param options the server's challenge and the name.
 * @returns the Ed25519 signature, base64.
 */
export async function signKeyLogin(
  key: CryptoKey,
  options: { challenge: Uint8Array; name: string },
): Promise<string> {
  const payload = keyLoginPayload(options.challenge, options.name);
  return toBase64(new Uint8Array(await crypto.subtle.sign("Ed25519", key, payload)));
}

/**
 * Checks a key-login signature; any malformed input is simply not valid.
 *
 * @param publicKey the raw public key from the credentials file.
 * @param options the challenge, the name and the signature (base64) as sent.
 * @returns whether the signature is valid.
 */
export async function verifyKeyLogin(
  publicKey: Uint8Array<ArrayBuffer>,
  options: { challenge: Uint8Array; name: string; signature: string },
): Promise<boolean> {
  let signature: Uint8Array<ArrayBuffer>;
  try {
    signature = Uint8Array.from(atob(options.signature), (c) => c.charCodeAt(0));
  } catch {
    return false;
  }
  if (signature.length !== 64) return false;
  try {
    const key = await crypto.subtle.importKey("raw", publicKey, "Ed25519", false, ["verify"]);
    return await crypto.subtle.verify(
      "Ed25519",
      key,
      signature,
      keyLoginPayload(options.challenge, options.name),
    );
  } catch {
    return false;
  }
}

/**
 * Encodes bytes as base64.
 *
 * @param bytes any bytes.
 * @returns their base64 text.
 */
export function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}
