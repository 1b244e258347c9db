/**
 * Every limit of the iotnet TCP protocol, named in one place. Server and client import
 * these; the server makes the ones marked "configurable" overridable from the command
 * line. See `docs/PROTOCOL.md` and `docs/SECURITY.md`.
 *
 * @module
 */

/** Protocol name sent in the handshake. */
export const PROTOCOL_NAME = "iotnet";
/** ALPN protocol of the device port over TLS (SPEC §7). */
export const TLS_ALPN_PROTOCOL = "iotnet/1";
/**
 * Protocol version; a server refuses any other. 2: the `peer` push carries a chat id and
 * secret instead of a chat ticket (`docs/PROTOCOL.md`). 3: the `keepalive` push and
 * request (a version-2 edge would take the push for a protocol error), the `blocked`
 * request, and the `uvf` result carrying the ticket sealed for the receiver and the
 * transfer's secret instead of a MAC. 4: nothing on this connection; the UDP peer
 * protocol's version 4 (another associated data for sealed datagrams), so that edges whose
 * peers could not understand each other never meet through one server.
 */
export const PROTOCOL_VERSION = 4;

/** Largest frame body (kind byte + payload) either side accepts. Bigger is a protocol error. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/**
 * Largest frame body the server accepts before login: a hello or a login request is a few
 * hundred bytes, so a stranger cannot make it hold a big frame.
 */
export const MAX_PRELOGIN_FRAME_BYTES = 4096;
/**
 * Requests a connection may have refused for coming out of turn before login (anything but
 * hello, login and udp_port in that order); at this many it is told and closed.
 */
export const MAX_REFUSED_BEFORE_LOGIN = 3;
/** Size of the DATA frames a client cuts an upload into. */
export const UPLOAD_CHUNK_BYTES = 64 * 1024;
/** Largest upload the server accepts, in bytes (configurable). */
export const MAX_UPLOAD_BYTES = 8 * 1024 * 1024 * 1024;

/** Longest device name, in bytes of UTF-8. */
export const MAX_NAME_BYTES = 32;
/** Longest password, in bytes of UTF-8. */
export const MAX_PASSWORD_BYTES = 128;
/** Largest file ID: IDs are integers 0..MAX_FILE_ID. */
export const MAX_FILE_ID = 2_147_483_647;
/** Most samples one `EDG` generates. */
export const MAX_GENERATE_SAMPLES = 100_000_000;
/** Longest look-back of `whoelsesince`, in seconds: ten years. */
export const MAX_SINCE_SECONDS = 10 * 365 * 24 * 3600;
/** Most decimal digits in one sample; keeps every sample exact in a float64. */
export const MAX_SAMPLE_DIGITS = 15;

/**
 * Keepalive interval, in milliseconds (configurable, `--keepalive`): after this long
 * without traffic from a peer, the server (or the edge) sends a `keepalive`; after three
 * intervals the connection is given up (`internal/silence_watch.ts`).
 */
export const KEEPALIVE_MS = 15_000;
/**
 * Time an edge gives the server to accept the connection and answer the hello, in
 * milliseconds (configurable, `--connect-timeout`).
 */
export const CONNECT_TIMEOUT_MS = 10_000;
/** Longest `--keepalive` and `--connect-timeout`, in seconds: an hour. */
export const MAX_KEEPALIVE_SECONDS = 3600;
/** Time a connection has to say hello and log in, in milliseconds (configurable). */
export const LOGIN_DEADLINE_MS = 60_000;
/**
 * Largest PROXY protocol v2 header the server reads with `--proxy-protocol`, its 16 fixed
 * bytes included (`protocol/proxy_header.ts`): room for IPv6 addresses (36 bytes) and the
 * TLVs a balancer adds (haproxy's unique id, SNI, ALPN, TLS details: a few hundred bytes),
 * and no more than a stranger's frame ({@linkcode MAX_PRELOGIN_FRAME_BYTES}).
 */
export const MAX_PROXY_HEADER_BYTES = 4096;
/** Default time a name stays blocked after too many failed logins (configurable). */
export const DEFAULT_BLOCK_SECONDS = 10;
/** Allowed range of the server's `<attempts>` argument. */
export const MIN_ATTEMPTS = 1;
export const MAX_ATTEMPTS = 5;

/** Longest text of one message, broadcast or private message, in bytes of UTF-8. */
export const MAX_MESSAGE_BYTES = 4096;
/** Messages one offline device may have waiting (configurable). */
export const MAX_OFFLINE_MESSAGES = 1000;
/** Bytes of text one offline device may have waiting (configurable). */
export const MAX_OFFLINE_BYTES = 1024 * 1024;
/**
 * Messages one sender may have waiting for one offline device (configurable): a tenth of
 * {@linkcode MAX_OFFLINE_MESSAGES}, so no one sender can fill a mailbox and shut out the
 * others.
 */
export const MAX_OFFLINE_MESSAGES_PER_SENDER = 100;
/** Bytes of text one sender may have waiting for one offline device (configurable). */
export const MAX_OFFLINE_BYTES_PER_SENDER = 128 * 1024;
/** Time a private-chat request waits for its answer. */
export const PRIVATE_REQUEST_TIMEOUT_MS = 60_000;
/** Lifetime of a UVF transfer ticket: the transfer must start within it. */
export const TRANSFER_TICKET_TTL_MS = 60_000;

/** Connections the server holds at once; more are refused with a message (configurable). */
export const MAX_CONNECTIONS = 4096;
/** Connections not yet logged in the server holds at once (configurable). */
export const MAX_PENDING_LOGINS = 1024;
/** Connections not yet logged in the server holds at once from one address (configurable). */
export const MAX_PENDING_LOGINS_PER_ADDRESS = 128;
/** Accounts one address may register per minute with `--allow-registration` (configurable). */
export const REGISTRATIONS_PER_MINUTE = 10;
/**
 * Connections whose upload bytes the server takes in at once, one turn each; the others
 * are not read until their turn. A flood of uploads then cannot queue every other device's
 * commands behind a backlog of upload data.
 */
export const CONCURRENT_UPLOADS = 32;
/** Uploads one connection may have open at once; more are refused `busy`. */
export const MAX_OPEN_UPLOADS = 64;
/** Time a frame may take to arrive once it has started: stops trickling peers. */
export const FRAME_DEADLINE_MS = 30_000;

/** Frames queued for one session's socket before that session is dropped as a slow consumer. */
export const MAX_QUEUED_OUTBOUND_BYTES = 8 * 1024 * 1024;

/**
 * Device names: letters, digits, `.`, `_`, `-`, starting with a letter or digit, at most
 * {@linkcode MAX_NAME_BYTES}. Names end up in file names, so nothing else is allowed.
 */
export const DEVICE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

/**
 * Checks a device name.
 *
 * @param name the candidate name.
 * @returns `undefined` when valid, otherwise a sentence saying what is wrong.
 */
export function deviceNameProblem(name: string): string | undefined {
  if (name.length === 0) return "device name is empty";
  if (name.length > MAX_NAME_BYTES) {
    return `device name is longer than ${MAX_NAME_BYTES} characters`;
  }
  if (!DEVICE_NAME_PATTERN.test(name)) {
    return "device name may hold only letters, digits, '.', '_' and '-', and must start with a letter or digit";
  }
  return undefined;
}
