/**
 * ClientHellos made to order for tests: a handshake message with the extensions asked
 * for, cut into TLS records of chosen sizes.
 *
 * @module
 */

/** The `supported_versions` extension's number. */
export const SUPPORTED_VERSIONS = 43;

/** What {@linkcode clientHello} puts in. */
export interface HelloSpec {
  /** The supported_versions list; no extension when undefined. */
  versions?: number[];
  /** Other extensions, type and body. */
  extensions?: [number, Uint8Array][];
  sessionIdBytes?: number;
  suites?: number[];
}

/** Two bytes, network order. */
export function u16(n: number): number[] {
  return [n >> 8, n & 0xff];
}

/** The parts one after the other. */
export function concat(parts: (Uint8Array | number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** A ClientHello handshake message (type and length included). */
export function clientHello(spec: HelloSpec): Uint8Array {
  const suites = spec.suites ?? [0x1301, 0x1302, 0xc02b];
  const extensions: [number, Uint8Array][] = [...(spec.extensions ?? [])];
  if (spec.versions) {
    const list = spec.versions.flatMap(u16);
    extensions.push([SUPPORTED_VERSIONS, new Uint8Array([list.length, ...list])]);
  }
  const extensionBytes = concat(
    extensions.map(([type, body]) => concat([u16(type), u16(body.length), body])),
  );
  const body = concat([
    u16(0x0303),
    new Uint8Array(32).fill(7),
    [spec.sessionIdBytes ?? 32],
    new Uint8Array(spec.sessionIdBytes ?? 32),
    u16(suites.length * 2),
    suites.flatMap(u16),
    [1, 0],
    extensions.length > 0 ? concat([u16(extensionBytes.length), extensionBytes]) : [],
  ]);
  return concat([[1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff], body]);
}

/** `message` in handshake records of the given fragment sizes (the last takes the rest). */
export function records(message: Uint8Array, sizes: number[] = []): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const size of [...sizes, Infinity]) {
    if (offset >= message.length) break;
    const fragment = message.subarray(offset, Math.min(message.length, offset + size));
    parts.push(concat([[22, 3, parts.length === 0 ? 1 : 3], u16(fragment.length), fragment]));
    offset += fragment.length;
  }
  return concat(parts);
}

/** The ALPN extension offering `iotnet/1`. */
export const ALPN_IOTNET: [number, Uint8Array] = [
  16,
  new Uint8Array([0, 9, 8, ...new TextEncoder().encode("iotnet/1")]),
];
