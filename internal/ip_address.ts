/**
 * IP addresses as text (what `Deno.NetAddr.hostname` holds) to their bytes, to compare them
 * with the `sockaddr` libc hands back (`internal/accepted_socket.ts`).
 *
 * @module
 */

/**
 * The bytes of an IPv4 (4 bytes) or IPv6 (16 bytes) address in text, or `undefined` when
 * `text` is neither. IPv6 takes the forms of RFC 4291 §2.2 (`::` once, a dotted IPv4 tail)
 * and an optional zone (`%eth0`), which is ignored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ipAddressBytes } from "./ip_address.ts";
 * assert.deepEqual(ipAddressBytes("127.0.0.1"), new Uint8Array([127, 0, 0, 1]));
 * assert.deepEqual(ipAddressBytes("::ffff:10.0.0.1")?.subarray(10), new Uint8Array([255, 255, 10, 0, 0, 1]));
 * assert.equal(ipAddressBytes("localhost"), undefined);
 * ```
 *
 * @param text an address as text.
 * @returns its bytes in network order, or `undefined`.
 */
export function ipAddressBytes(text: string): Uint8Array | undefined {
  return text.includes(":") ? ipv6Bytes(text) : ipv4Bytes(text);
}

function ipv4Bytes(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (const [i, part] of parts.entries()) {
    // Decimal without leading zeros (a leading zero means octal to some parsers).
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return undefined;
    bytes[i] = Number(part);
  }
  return bytes;
}

function ipv6Bytes(text: string): Uint8Array | undefined {
  const address = text.split("%")[0]!;
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string) => (half === "" ? [] : half.split(":"));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  // A dotted IPv4 address may stand for the last two groups.
  const last = halves.length === 2 ? tail : head;
  let ipv4: Uint8Array | undefined;
  if (last.length > 0 && last[last.length - 1]!.includes(".")) {
    ipv4 = ipv4Bytes(last.pop()!);
    if (ipv4 === undefined) return undefined;
  }
  const words = head.length + tail.length + (ipv4 ? 2 : 0);
  if (halves.length === 2 ? words > 7 : words !== 8) return undefined;
  const bytes = new Uint8Array(16);
  const put = (list: string[], at: number) => {
    for (const [i, group] of list.entries()) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return false;
      const value = parseInt(group, 16);
      bytes[at + 2 * i] = value >> 8;
      bytes[at + 2 * i + 1] = value & 0xff;
    }
    return true;
  };
  const tailEnd = 16 - (ipv4 ? 4 : 0);
  if (!put(head, 0) || !put(tail, tailEnd - 2 * tail.length)) return undefined;
  if (ipv4) bytes.set(ipv4, 12);
  return bytes;
}
