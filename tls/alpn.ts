/**
 * What the device port speaks under TLS, and how to tell TLS bytes from iotnet frames.
 *
 * @module
 */

/** The ALPN protocol of the device port under TLS (SPEC §7). */
export const TLS_ALPN = "iotnet/1";

/**
 * Whether `bytes` start like a TLS record (a handshake or an alert, record version 3.x):
 * what a plain end receives from a TLS one. An iotnet frame starts with a length far below
 * `0x15030000`, so the two never meet.
 */
export function looksLikeTls(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && (bytes[0] === 0x15 || bytes[0] === 0x16) && bytes[1] === 0x03;
}
