/**
 * A device's Ed25519 key (SPEC §7): made by `iotnet keygen`, kept by the device as PKCS#8
 * PEM, its public half in the server's credentials file as `ed25519$<base64>` (the 32 raw
 * bytes). WebCrypto does the work; nothing here touches files.
 *
 * @module
 */

const ED25519 = { name: "Ed25519" } as const;
/** Prefix of a public key in the credentials file. */
export const ED25519_PREFIX = "ed25519$";
/** Bytes of a raw Ed25519 public key. */
export const ED25519_PUBLIC_KEY_BYTES = 32;
/** Bytes of an Ed25519 signature. */
export const ED25519_SIGNATURE_BYTES = 64;

/** A device key pair: the PEM to keep and the public key to register. */
export interface DeviceKeyPair {
  /** PKCS#8 PEM of the private key. */
  privatePem: string;
  /** `ed25519$<base64 raw public key>`, as the credentials file holds it. */
  publicKey: string;
}

/** Makes a fresh Ed25519 key pair. */
export async function generateDeviceKey(): Promise<DeviceKeyPair> {
  const keys = await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"]) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
  return { privatePem: pem(pkcs8, "PRIVATE KEY"), publicKey: ED25519_PREFIX + base64(raw) };
}

/** A device's private key, ready to sign. */
export interface DeviceKey {
  /** The Ed25519 signature of `data`. */
  sign(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>>;
}

/**
 * Reads a device's private key from PEM.
 *
 * @throws {TypeError} when the text holds no Ed25519 PKCS#8 private key.
 */
export async function importDeviceKey(text: string): Promise<DeviceKey> {
  const match = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/.exec(
    text,
  );
  if (!match) throw new TypeError("no PEM private key (-----BEGIN PRIVATE KEY-----) in it");
  let key: CryptoKey;
  try {
    const der = Uint8Array.from(atob(match[1]!.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
    key = await crypto.subtle.importKey("pkcs8", der, ED25519, false, ["sign"]);
  } catch (error) {
    throw new TypeError("it is not an Ed25519 private key; make one with `iotnet keygen`", {
      cause: error,
    });
  }
  return {
    sign: async (data) => new Uint8Array(await crypto.subtle.sign(ED25519, key, data)),
  };
}

/** Why `stored` is not a well-formed `ed25519$<base64>` public key; `undefined` if it is. */
export function publicKeyProblem(stored: string): string | undefined {
  if (!stored.startsWith(ED25519_PREFIX)) return `it does not start with ${ED25519_PREFIX}`;
  const raw = decodeBase64(stored.slice(ED25519_PREFIX.length));
  if (raw?.length !== ED25519_PUBLIC_KEY_BYTES) {
    return `the key is not ${ED25519_PUBLIC_KEY_BYTES} bytes of base64`;
  }
  return undefined;
}

/** Whether a credentials entry is a device public key rather than a password. */
export function isPublicKey(stored: string): boolean {
  return stored.startsWith(ED25519_PREFIX);
}

/**
 * Checks `signature` over `data` with the public key `stored` (`ed25519$<base64>`).
 * A malformed key or signature is simply not valid.
 */
export async function verifyDeviceSignature(
  stored: string,
  data: Uint8Array<ArrayBuffer>,
  signature: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  if (publicKeyProblem(stored) || signature.length !== ED25519_SIGNATURE_BYTES) return false;
  try {
    const raw = decodeBase64(stored.slice(ED25519_PREFIX.length))!;
    const key = await crypto.subtle.importKey("raw", raw, ED25519, false, ["verify"]);
    return await crypto.subtle.verify(ED25519, key, signature, data);
  } catch {
    return false;
  }
}

/** Standard base64 of `bytes`. */
export function base64(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

/** Bytes of standard base64 `text`; `undefined` when it is not base64. */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function pem(der: Uint8Array, label: string): string {
  const lines = base64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
