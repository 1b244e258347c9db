/**
 * What a TLS client's first flight says about the protocol version it can speak, read
 * before the server's TLS library sees it: the server speaks TLS 1.3 only (SPEC §7), and
 * `Deno.listenTls` (rustls) has no option to turn TLS 1.2 off. A pure decoder over the
 * bytes a connection has sent so far; `server/tls13_gate.ts` is the socket side.
 *
 * A ClientHello offers TLS 1.3 exactly when its `supported_versions` extension lists
 * 0x0304 (RFC 8446 §4.2.1; a TLS 1.2 client has no such extension and offers its version
 * in `legacy_version`). rustls with TLS 1.3 enabled picks 1.3 whenever it is listed, so a
 * ClientHello this decoder passes cannot end in a TLS 1.2 handshake; everything it does
 * not pass is refused, strictly: a record layer or message that does not parse, a
 * repeated extension (RFC 8446 §4.2 forbids it), a ClientHello larger than
 * {@linkcode MAX_CLIENT_HELLO_BYTES}. The ClientHello may span several handshake
 * records (RFC 8446 §5.1); they are joined as the record layer does.
 *
 * @module
 */

/** TLS alert descriptions the gate sends (RFC 8446 §6.2). */
export const TLS_ALERT = {
  unexpected_message: 10,
  record_overflow: 22,
  handshake_failure: 40,
  decode_error: 50,
  protocol_version: 70,
} as const;

/** One of {@linkcode TLS_ALERT}'s descriptions. */
export type TlsAlertDescription = typeof TLS_ALERT[keyof typeof TLS_ALERT];

/**
 * The most bytes a ClientHello may take on the wire, record headers included. Real ones
 * are 0.2–2 KiB (a post-quantum key share is 1.2 KiB of that); RFC 8446 allows up to
 * 16 MiB, which nobody sends.
 */
export const MAX_CLIENT_HELLO_BYTES = 16 * 1024;

/** The largest TLSPlaintext fragment (RFC 8446 §5.1). */
export const MAX_RECORD_FRAGMENT_BYTES = 1 << 14;

/** TLS 1.3's number in `supported_versions`. */
export const TLS13_VERSION = 0x0304;

const RECORD_HEADER_BYTES = 5;
const HANDSHAKE_HEADER_BYTES = 4;
const CONTENT_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXTENSION_SUPPORTED_VERSIONS = 43;

/** What a connection's first bytes say. */
export type ClientHelloCheck =
  /** Not all of the ClientHello has arrived; look again when more has. */
  | { kind: "incomplete"; received: number }
  /** A well-formed ClientHello that offers TLS 1.3: let TLS have the connection. */
  | { kind: "tls13" }
  /** Refuse the connection: send alert `alert`, say `reason` in the log. */
  | { kind: "refused"; alert: TlsAlertDescription; reason: string; notTls?: true };

/**
 * Checks the bytes a connection has sent so far (from its very first byte) for a
 * ClientHello that offers TLS 1.3. Never throws; reads at most
 * {@linkcode MAX_CLIENT_HELLO_BYTES} of `stream`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkClientHello } from "./client_hello.ts";
 * // An iotnet frame where a TLS record should be:
 * const check = checkClientHello(new Uint8Array([0, 0, 0, 9, 1, 2, 3]));
 * assert.equal(check.kind, "refused");
 * assert.equal(checkClientHello(new Uint8Array([22, 3, 1])).kind, "incomplete");
 * ```
 *
 * @param stream the connection's bytes so far.
 * @returns whether to wait, pass the connection to TLS, or refuse it.
 */
export function checkClientHello(stream: Uint8Array): ClientHelloCheck {
  const message = joinHandshakeRecords(stream);
  return message.kind === "joined" ? checkHello(message.hello) : message;
}

/** Bytes of a fatal alert record (RFC 8446 §6) with `description`. */
export function encodeTlsAlert(description: TlsAlertDescription): Uint8Array {
  // Version 0x0303 as TLS 1.3 sends it; level 2 = fatal.
  return new Uint8Array([21, 3, 3, 0, 2, 2, description]);
}

/** A refusal or a wait, as {@linkcode ClientHelloCheck} has them. */
type Unfinished = Exclude<ClientHelloCheck, { kind: "tls13" }>;
type Joined = { kind: "joined"; hello: Uint8Array } | Unfinished;

/** The ClientHello message body, joined from as many handshake records as carry it. */
function joinHandshakeRecords(stream: Uint8Array): Joined {
  const incomplete = { kind: "incomplete", received: stream.length } as const;
  // The handshake message's bytes gathered so far (fewer than the stream's, and the bound).
  const message = new Uint8Array(Math.min(MAX_CLIENT_HELLO_BYTES, stream.length));
  let gathered = 0;
  let offset = 0;
  for (;;) {
    if (stream.length - offset < RECORD_HEADER_BYTES) {
      if (offset === 0 && stream.length > 0 && stream[0] !== CONTENT_HANDSHAKE) {
        return notTls(stream[0]!);
      }
      return incomplete;
    }
    const type = stream[offset]!;
    const length = (stream[offset + 3]! << 8) | stream[offset + 4]!;
    if (type !== CONTENT_HANDSHAKE || stream[offset + 1] !== 3) {
      if (offset === 0) return notTls(type);
      return refuse(
        TLS_ALERT.unexpected_message,
        `a record of type ${type} where the rest of the ClientHello should be`,
      );
    }
    if (length === 0) return refuse(TLS_ALERT.decode_error, "an empty handshake record");
    if (length > MAX_RECORD_FRAGMENT_BYTES) {
      return refuse(TLS_ALERT.record_overflow, `a record of ${length} bytes (at most 16384)`);
    }
    if (offset + RECORD_HEADER_BYTES + length > MAX_CLIENT_HELLO_BYTES) return tooLarge();
    const fragment = stream.subarray(
      offset + RECORD_HEADER_BYTES,
      Math.min(stream.length, offset + RECORD_HEADER_BYTES + length),
    );
    message.set(fragment, gathered);
    gathered += fragment.length;
    if (gathered >= 1 && message[0] !== HANDSHAKE_CLIENT_HELLO) {
      return refuse(
        TLS_ALERT.unexpected_message,
        `the first handshake message is of type ${message[0]}, not a ClientHello`,
      );
    }
    if (gathered >= HANDSHAKE_HEADER_BYTES) {
      const bodyBytes = (message[1]! << 16) | (message[2]! << 8) | message[3]!;
      if (HANDSHAKE_HEADER_BYTES + bodyBytes > MAX_CLIENT_HELLO_BYTES) return tooLarge();
      const end = HANDSHAKE_HEADER_BYTES + bodyBytes;
      if (gathered >= end) {
        // What follows the ClientHello is TLS's business (rustls refuses anything but
        // what RFC 8446 allows there).
        return { kind: "joined", hello: message.subarray(HANDSHAKE_HEADER_BYTES, end) };
      }
    }
    if (fragment.length < length) return incomplete;
    offset += RECORD_HEADER_BYTES + length;
  }
}

/** Reads a ClientHello body (RFC 8446 §4.1.2) for `supported_versions`. */
function checkHello(hello: Uint8Array): ClientHelloCheck {
  const reader = new Reader(hello);
  reader.skip(2 + 32); // legacy_version, random
  const sessionIdBytes = reader.u8();
  if (sessionIdBytes !== undefined && sessionIdBytes > 32) {
    return malformed(`a session id of ${sessionIdBytes} bytes (at most 32)`);
  }
  reader.skip(sessionIdBytes ?? 0);
  const suiteBytes = reader.u16();
  if (suiteBytes !== undefined && (suiteBytes < 2 || suiteBytes % 2 !== 0)) {
    return malformed(`a cipher-suite list of ${suiteBytes} bytes`);
  }
  reader.skip(suiteBytes ?? 0);
  const compressionBytes = reader.u8();
  if (compressionBytes === 0) return malformed("an empty compression-method list");
  reader.skip(compressionBytes ?? 0);
  if (reader.failed) return malformed("it ends inside its fixed fields");
  if (reader.remaining === 0) return tls12Only("it has no extensions");
  const extensionBytes = reader.u16();
  if (extensionBytes !== reader.remaining) {
    return malformed("its extension list's length does not match the message");
  }
  const seen = new Set<number>();
  let versions: Uint8Array | undefined;
  while (reader.remaining > 0) {
    const type = reader.u16();
    const length = reader.u16();
    const body = reader.bytes(length ?? 0);
    if (type === undefined || body === undefined) return malformed("an extension is cut short");
    if (seen.has(type)) return malformed(`extension ${type} appears twice`);
    seen.add(type);
    if (type === EXTENSION_SUPPORTED_VERSIONS) versions = body;
  }
  if (versions === undefined) return tls12Only("it has no supported_versions extension");
  const listBytes = versions[0];
  if (
    listBytes === undefined || listBytes !== versions.length - 1 || listBytes < 2 ||
    listBytes % 2 !== 0
  ) {
    return malformed("its supported_versions extension is malformed");
  }
  const offered: number[] = [];
  for (let i = 1; i < versions.length; i += 2) offered.push((versions[i]! << 8) | versions[i + 1]!);
  if (offered.includes(TLS13_VERSION)) return { kind: "tls13" };
  return tls12Only(`its supported_versions lists ${offered.map(versionName).join(", ")}`);
}

/** A bounds-checked reader; a read past the end sets `failed` and returns undefined. */
class Reader {
  readonly #bytes: Uint8Array;
  #offset = 0;
  failed = false;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  get remaining(): number {
    return Math.max(0, this.#bytes.length - this.#offset);
  }

  skip(n: number): void {
    this.bytes(n);
  }

  u8(): number | undefined {
    return this.bytes(1)?.[0];
  }

  u16(): number | undefined {
    const b = this.bytes(2);
    return b && (b[0]! << 8) | b[1]!;
  }

  bytes(n: number): Uint8Array | undefined {
    if (this.failed || n > this.remaining) {
      this.failed = true;
      return undefined;
    }
    const out = this.#bytes.subarray(this.#offset, this.#offset + n);
    this.#offset += n;
    return out;
  }
}

function versionName(version: number): string {
  if (version >= 0x0301 && version <= 0x0304) return `TLS 1.${version - 0x0301}`;
  if (version === 0x0300) return "SSL 3.0";
  return `0x${version.toString(16).padStart(4, "0")}`;
}

function notTls(firstByte: number): Unfinished {
  return {
    kind: "refused",
    alert: TLS_ALERT.unexpected_message,
    reason: `the client does not speak TLS (its first byte is ${firstByte}, not a handshake ` +
      "record); the device needs --tls-ca",
    notTls: true,
  };
}

function refuse(alert: TlsAlertDescription, what: string): Unfinished {
  return { kind: "refused", alert, reason: `a malformed ClientHello: ${what}` };
}

function malformed(what: string): Unfinished {
  return refuse(TLS_ALERT.decode_error, what);
}

function tooLarge(): Unfinished {
  return {
    kind: "refused",
    alert: TLS_ALERT.handshake_failure,
    reason: `a ClientHello over ${MAX_CLIENT_HELLO_BYTES} bytes`,
  };
}

function tls12Only(why: string): Unfinished {
  return {
    kind: "refused",
    alert: TLS_ALERT.protocol_version,
    reason: `the client does not offer TLS 1.3 (${why}); the server speaks TLS 1.3 only`,
  };
}
