/**
 * The PROXY protocol version 2 header, as a TCP balancer (haproxy with `send-proxy-v2`)
 * puts it at the start of every connection it forwards so the server learns the client's
 * real address (SPEC §9, `--proxy-protocol`). Pure encode and decode over `Uint8Array`;
 * the server's adapter is `server/proxied_connection.ts`. Specification:
 * https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt, section 2.2; what iotnet
 * accepts and refuses is in `docs/PROTOCOL.md` ("PROXY protocol").
 *
 * ```
 * +------------------------+--------------+---------------+-----------+---------------------+
 * | signature: 12 bytes    | ver|cmd: u8  | fam|proto: u8 | len: u16  | addresses, then TLVs |
 * | 0D0A0D0A000D0A5155490A | 0x20 / 0x21  | 0x11 / 0x21   | BE        | (len bytes)          |
 * +------------------------+--------------+---------------+-----------+---------------------+
 * ```
 *
 * Version 1 (the text `PROXY TCP4 ...` line) is recognised only to be refused with a
 * message that says so: SPEC §9 names version 2.
 *
 * @module
 */

import { MAX_PROXY_HEADER_BYTES } from "./limits.ts";

/** The 12 bytes every version 2 header starts with. */
export const PROXY_V2_SIGNATURE: Uint8Array = Uint8Array.of(
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
);

/** Bytes before the variable part: signature, version and command, family, length. */
export const PROXY_V2_FIXED_BYTES = 16;

/** How a version 1 header starts. */
const V1_PREFIX = new TextEncoder().encode("PROXY ");

/** Codes of the version 2 header's fields, as they appear on the wire. */
export const PROXY_V2 = {
  version: 0x2,
  command: { local: 0x0, proxy: 0x1 },
  family: { unspec: 0x0, inet: 0x1, inet6: 0x2, unix: 0x3 },
  transport: { unspec: 0x0, stream: 0x1, dgram: 0x2 },
  /** Bytes of the address block of each family (source, destination, ports). */
  addressBytes: { inet: 12, inet6: 36, unix: 216 },
  /** Bytes before a TLV's value: type u8, length u16 BE. */
  tlvHeaderBytes: 3,
} as const;

/** An address and port the header carries. */
export interface ProxyEndpoint {
  /** IPv4 dotted quad, or IPv6 in RFC 5952 form (an IPv4-mapped one as its IPv4). */
  address: string;
  port: number;
}

/**
 * What a valid header says.
 *
 * - `local`: the balancer's own connection (a health check): use the socket's address.
 * - `unspec`: forwarded for a protocol the balancer did not describe: use the socket's
 *   address (the specification lets the receiver accept it so).
 * - `tcp4` / `tcp6`: a client's connection, from `source` to `destination`.
 */
export type ProxyHeader =
  | { kind: "local" }
  | { kind: "unspec" }
  | { kind: "tcp4" | "tcp6"; source: ProxyEndpoint; destination: ProxyEndpoint };

/**
 * Why bytes are not a header iotnet accepts.
 *
 * - `not_proxy`: the connection does not start with a PROXY signature at all.
 * - `v1`: a version 1 (text) header.
 * - `version`, `command`, `family`, `transport`: a field holds a value that is not
 *   defined, or (family, transport) one iotnet does not take (UNIX sockets, UDP).
 * - `length`: the declared length is over the limit or too short for the addresses.
 * - `tlv`: a TLV runs past the end of the header.
 */
export type ProxyHeaderProblem =
  | "not_proxy"
  | "v1"
  | "version"
  | "command"
  | "family"
  | "transport"
  | "length"
  | "tlv";

/** The result of {@linkcode decodeProxyHeader}. */
export type ProxyHeaderDecoding =
  | { status: "incomplete" }
  | { status: "complete"; header: ProxyHeader; length: number }
  | { status: "invalid"; problem: ProxyHeaderProblem; message: string };

/** A TLV to encode: type and value. */
export interface ProxyTlv {
  type: number;
  value: Uint8Array;
}

/**
 * Reads a version 2 header from the start of the bytes received so far. Call it again
 * with more bytes while it says `incomplete`: it fails at the first byte that cannot
 * start a valid header, so a peer that sends something else is refused at once, and never
 * asks for more than `maxBytes` in all.
 *
 * @param bytes what the connection has received, from its first byte.
 * @param maxBytes the largest header accepted. Default {@linkcode MAX_PROXY_HEADER_BYTES}.
 * @returns `complete` with the header and its length in bytes (what follows is the
 *   client's), `incomplete`, or `invalid` with the problem and a sentence for the log.
 * @example A header from haproxy, then the client's first byte
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeProxyHeader, encodeProxyHeader } from "./proxy_header.ts";
 *
 * const header = encodeProxyHeader({
 *   kind: "tcp4",
 *   source: { address: "203.0.113.7", port: 51000 },
 *   destination: { address: "10.0.0.2", port: 7000 },
 * });
 * const received = Uint8Array.of(...header, 0x00);
 * assert.deepEqual(decodeProxyHeader(received.subarray(0, 20)), { status: "incomplete" });
 * const decoded = decodeProxyHeader(received);
 * assert.equal(decoded.status, "complete");
 * assert.equal(decoded.status === "complete" && decoded.length, 28);
 * ```
 */
export function decodeProxyHeader(
  bytes: Uint8Array,
  maxBytes: number = MAX_PROXY_HEADER_BYTES,
): ProxyHeaderDecoding {
  const signature = checkSignature(bytes);
  if (signature !== undefined) return signature;
  if (bytes.length > 12) {
    const versionCommand = bytes[12]!;
    const version = versionCommand >> 4;
    if (version !== PROXY_V2.version) {
      return invalid(
        "version",
        `version ${version} in a PROXY v2 signature (byte 13 is 0x${hex(versionCommand)}); ` +
          "only version 2 is defined",
      );
    }
    const command = versionCommand & 0x0f;
    if (command !== PROXY_V2.command.local && command !== PROXY_V2.command.proxy) {
      return invalid(
        "command",
        `command ${command} is neither LOCAL (0) nor PROXY (1) (byte 13 is 0x${
          hex(versionCommand)
        })`,
      );
    }
  }
  if (bytes.length < PROXY_V2_FIXED_BYTES) return { status: "incomplete" };
  const local = (bytes[12]! & 0x0f) === PROXY_V2.command.local;
  const familyTransport = bytes[13]!;
  const declared = (bytes[14]! << 8) | bytes[15]!;
  const total = PROXY_V2_FIXED_BYTES + declared;
  if (total > maxBytes) {
    return invalid(
      "length",
      `the header declares ${declared} bytes after its first 16, ${total} in all; at most ` +
        `${maxBytes} are accepted`,
    );
  }
  // LOCAL: "the receiver must accept this connection as valid and must use the real
  // connection endpoints and discard the protocol block including the family" (2.2).
  if (local) {
    return bytes.length < total ? { status: "incomplete" } : complete({ kind: "local" }, total);
  }
  const addressing = addressingOf(familyTransport);
  if ("problem" in addressing) return addressing;
  if (declared < addressing.bytes) {
    return invalid(
      "length",
      `the header declares ${declared} bytes after its first 16, too few for the ` +
        `${addressing.bytes} bytes of ${addressing.kind === "tcp4" ? "IPv4" : "IPv6"} addresses`,
    );
  }
  if (bytes.length < total) return { status: "incomplete" };
  const tlvProblem = checkTlvs(bytes.subarray(PROXY_V2_FIXED_BYTES + addressing.bytes, total));
  if (tlvProblem !== undefined) return tlvProblem;
  if (addressing.kind === "unspec") return complete({ kind: "unspec" }, total);
  const body = bytes.subarray(PROXY_V2_FIXED_BYTES);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const size = addressing.kind === "tcp4" ? 4 : 16;
  const format = addressing.kind === "tcp4" ? formatIpv4 : formatIpv6;
  return complete({
    kind: addressing.kind,
    source: { address: format(body.subarray(0, size)), port: view.getUint16(2 * size) },
    destination: {
      address: format(body.subarray(size, 2 * size)),
      port: view.getUint16(2 * size + 2),
    },
  }, total);
}

/**
 * Encodes a version 2 header (what a balancer sends; iotnet's tests send it too).
 *
 * @param header what the header says; `local` and `unspec` carry no addresses.
 * @param tlvs TLVs to append after the addresses. Default none.
 * @returns the header's bytes.
 * @throws {RangeError} when an address is not an IPv4 address (for `tcp4`), or neither an
 *   IPv6 nor an IPv4 address (for `tcp6`: IPv4-mapped), a port or TLV type is out of range, or the header would be over 65,551 bytes.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeProxyHeader } from "./proxy_header.ts";
 *
 * assert.equal(encodeProxyHeader({ kind: "local" }).length, 16);
 * ```
 */
export function encodeProxyHeader(header: ProxyHeader, tlvs: readonly ProxyTlv[] = []): Uint8Array {
  const kind = header.kind;
  const addressBytes = kind === "tcp4"
    ? PROXY_V2.addressBytes.inet
    : kind === "tcp6"
    ? PROXY_V2.addressBytes.inet6
    : 0;
  let tlvBytes = 0;
  for (const tlv of tlvs) {
    if (!Number.isInteger(tlv.type) || tlv.type < 0 || tlv.type > 0xff) {
      throw new RangeError(`TLV type must be an integer 0..255, not ${tlv.type}`);
    }
    if (tlv.value.length > 0xffff) {
      throw new RangeError(`TLV value of ${tlv.value.length} bytes is over 65,535`);
    }
    tlvBytes += PROXY_V2.tlvHeaderBytes + tlv.value.length;
  }
  const declared = addressBytes + tlvBytes;
  if (declared > 0xffff) {
    throw new RangeError(`the header's variable part of ${declared} bytes is over 65,535`);
  }
  const out = new Uint8Array(PROXY_V2_FIXED_BYTES + declared);
  const view = new DataView(out.buffer);
  out.set(PROXY_V2_SIGNATURE);
  const { command, family, transport } = PROXY_V2;
  out[12] = (PROXY_V2.version << 4) | (kind === "local" ? command.local : command.proxy);
  out[13] = kind === "tcp4"
    ? (family.inet << 4) | transport.stream
    : kind === "tcp6"
    ? (family.inet6 << 4) | transport.stream
    : (family.unspec << 4) | transport.unspec;
  view.setUint16(14, declared);
  let at = PROXY_V2_FIXED_BYTES;
  if (kind === "tcp4" || kind === "tcp6") {
    const parse = kind === "tcp4" ? parseIpv4 : parseIpv6;
    const size = kind === "tcp4" ? 4 : 16;
    out.set(parse(header.source.address), at);
    out.set(parse(header.destination.address), at + size);
    view.setUint16(at + 2 * size, checkPort(header.source.port));
    view.setUint16(at + 2 * size + 2, checkPort(header.destination.port));
    at += addressBytes;
  }
  for (const tlv of tlvs) {
    out[at] = tlv.type;
    view.setUint16(at + 1, tlv.value.length);
    out.set(tlv.value, at + PROXY_V2.tlvHeaderBytes);
    at += PROXY_V2.tlvHeaderBytes + tlv.value.length;
  }
  return out;
}

/** Undefined while the bytes so far can start a v2 header; else why they cannot. */
function checkSignature(bytes: Uint8Array): ProxyHeaderDecoding | undefined {
  const n = Math.min(bytes.length, PROXY_V2_SIGNATURE.length);
  for (let i = 0; i < n; i++) {
    if (bytes[i] === PROXY_V2_SIGNATURE[i]) continue;
    if (startsWithPrefixOf(bytes, V1_PREFIX)) {
      return bytes.length < V1_PREFIX.length ? { status: "incomplete" } : invalid(
        "v1",
        "a PROXY protocol version 1 (text) header; this server takes only version 2: " +
          "use send-proxy-v2 on the balancer, not send-proxy",
      );
    }
    return invalid(
      "not_proxy",
      `no PROXY protocol v2 header: the connection began with ${describeStart(bytes)}`,
    );
  }
  return undefined;
}

/** Whether `bytes` and `prefix` agree on their common length. */
function startsWithPrefixOf(bytes: Uint8Array, prefix: Uint8Array): boolean {
  const n = Math.min(bytes.length, prefix.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Most bytes quoted in a `not_proxy` message. */
const QUOTED_BYTES = 8;

/** The first bytes in hex, with what they look like when that is recognisable. */
function describeStart(bytes: Uint8Array): string {
  const shown = [...bytes.subarray(0, QUOTED_BYTES)].map(hex).join(" ");
  const more = bytes.length > QUOTED_BYTES ? " ..." : "";
  let guess = "";
  if (bytes[0] === 0x16 && (bytes.length < 2 || bytes[1] === 0x03)) {
    guess = " (a TLS handshake: the client reached this port without the balancer)";
  } else if (bytes.length >= 5 && bytes[0] === 0 && bytes[1] === 0 && bytes[4] === 0x01) {
    guess = " (an iotnet frame: the device reached this port without the balancer)";
  }
  return `${shown}${more}${guess}`;
}

type Addressing =
  | { kind: "tcp4" | "tcp6" | "unspec"; bytes: number }
  | Extract<ProxyHeaderDecoding, { status: "invalid" }>;

/** What the family and transport byte of a PROXY command allows. */
function addressingOf(familyTransport: number): Addressing {
  const family = familyTransport >> 4;
  const transport = familyTransport & 0x0f;
  const { family: F, transport: T } = PROXY_V2;
  const byte = `(byte 14 is 0x${hex(familyTransport)})`;
  if (transport > T.dgram) {
    return invalid("transport", `transport ${transport} is not defined ${byte}`);
  }
  if (family === F.unspec) return { kind: "unspec", bytes: 0 };
  if (family === F.unix) {
    return invalid(
      "family",
      `a UNIX socket address ${byte}; this port takes TCP over IPv4 or IPv6 from the balancer`,
    );
  }
  if (family !== F.inet && family !== F.inet6) {
    return invalid("family", `address family ${family} is not defined ${byte}`);
  }
  if (transport !== T.stream) {
    return invalid(
      "transport",
      `transport ${transport === T.dgram ? "UDP" : "UNSPEC"} with an IP address ${byte}; ` +
        "this port takes TCP (STREAM) connections",
    );
  }
  return family === F.inet
    ? { kind: "tcp4", bytes: PROXY_V2.addressBytes.inet }
    : { kind: "tcp6", bytes: PROXY_V2.addressBytes.inet6 };
}

/** Undefined when `tlvs` is a whole number of TLVs; else where one runs past the end. */
function checkTlvs(tlvs: Uint8Array): ProxyHeaderDecoding | undefined {
  let at = 0;
  while (at < tlvs.length) {
    if (tlvs.length - at < PROXY_V2.tlvHeaderBytes) {
      return invalid(
        "tlv",
        `${tlvs.length - at} bytes after the last TLV, too few for a TLV's 3-byte type and length`,
      );
    }
    const length = (tlvs[at + 1]! << 8) | tlvs[at + 2]!;
    const end = at + PROXY_V2.tlvHeaderBytes + length;
    if (end > tlvs.length) {
      return invalid(
        "tlv",
        `TLV type 0x${hex(tlvs[at]!)} declares ${length} bytes, ${
          tlvs.length - at - PROXY_V2.tlvHeaderBytes
        } are left in the header`,
      );
    }
    at = end;
  }
  return undefined;
}

function complete(header: ProxyHeader, length: number): ProxyHeaderDecoding {
  return { status: "complete", header, length };
}

function invalid(
  problem: ProxyHeaderProblem,
  message: string,
): Extract<ProxyHeaderDecoding, { status: "invalid" }> {
  return { status: "invalid", problem, message };
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

function formatIpv4(bytes: Uint8Array): string {
  return bytes.join(".");
}

/**
 * RFC 5952 text of an IPv6 address: lower-case hex without leading zeros, the first
 * longest run of two or more zero groups as `::`. An IPv4-mapped address (`::ffff:a.b.c.d`)
 * is its IPv4 address: the same device whichever way the balancer's socket took it.
 */
function formatIpv6(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return formatIpv4(bytes.subarray(12));
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const text = groups.map((g) => g.toString(16));
  if (bestStart < 0) return text.join(":");
  return `${text.slice(0, bestStart).join(":")}::${text.slice(bestStart + bestLength).join(":")}`;
}

function parseIpv4(address: string): Uint8Array {
  const parts = address.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw new RangeError(`${JSON.stringify(address)} is not an IPv4 address`);
  }
  return Uint8Array.from(parts.map(Number));
}

/** An IPv6 address's 16 bytes; an IPv4 address is taken as IPv4-mapped (`::ffff:a.b.c.d`). */
function parseIpv6(address: string): Uint8Array {
  if (!address.includes(":") && address.includes(".")) {
    return Uint8Array.of(...Array(10).fill(0), 0xff, 0xff, ...parseIpv4(address));
  }
  const wrong = () => new RangeError(`${JSON.stringify(address)} is not an IPv6 address`);
  const halves = address.split("::");
  if (halves.length > 2) throw wrong();
  const groupsOf = (text: string) => (text === "" ? [] : text.split(":"));
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  const given = head.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) throw wrong();
  const groups = [...head, ...Array(8 - given).fill("0"), ...tail];
  const out = new Uint8Array(16);
  groups.forEach((group, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) throw wrong();
    const value = parseInt(group, 16);
    out[2 * i] = value >> 8;
    out[2 * i + 1] = value & 0xff;
  });
  return out;
}

function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new RangeError(`port must be an integer 0..65535, not ${port}`);
  }
  return port;
}
