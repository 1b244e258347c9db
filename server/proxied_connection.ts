/**
 * With `--proxy-protocol` (SPEC §9): reads the PROXY protocol v2 header a balancer puts at
 * the start of each connection (`protocol/proxy_header.ts`), before anything else, TLS
 * included, within the login deadline. Gives the device's address and the bytes after
 * the header, or why the connection is refused. A LOCAL header followed by nothing is the
 * balancer's health check: it ends quietly.
 *
 * @module
 */

import type { Clock, TimerId } from "../internal/mod.ts";
import { MAX_PROXY_HEADER_BYTES } from "../protocol/limits.ts";
import { decodeProxyHeader, type ProxyHeader } from "../protocol/proxy_header.ts";
import type { SessionConn } from "./session.ts";

/** Why a connection was refused for its PROXY header (a metrics label). */
export type ProxyRefusalReason =
  | "proxy_header_missing"
  | "proxy_header_invalid"
  | "proxy_header_timeout";

/** What {@linkcode readProxyHeader} found. */
export type ProxyHeaderOutcome =
  | {
    status: "ok";
    /** The device's address: the header's source, or the socket's peer (LOCAL, UNSPEC). */
    address: string;
    header: ProxyHeader;
    /** What the client sent after the header, already read. */
    rest: Uint8Array;
  }
  /** A LOCAL header, then the connection ended without a byte more: closed. */
  | { status: "health_check" }
  /** The server is closing: the connection is closed. */
  | { status: "shutdown" }
  /** Closed; `message` says why, for the log. */
  | { status: "refused"; reason: ProxyRefusalReason; message: string };

/** Options of {@linkcode readProxyHeader}. */
export interface ReadProxyHeaderOptions {
  /** The socket's peer: the balancer. */
  peer: string;
  /** Time the header has to arrive whole (the login deadline). */
  deadlineMs: number;
  clock: Clock;
  /** Largest header. Default {@linkcode MAX_PROXY_HEADER_BYTES}. */
  maxBytes?: number;
  /** Aborted when the server closes: the connection is closed. */
  signal?: AbortSignal;
}

/**
 * Reads the PROXY header at the start of `conn`. On `ok` the caller owns `conn`; on
 * anything else it is closed. Never throws.
 *
 * @param conn a connection just accepted, nothing read from it yet.
 * @param options its peer's address, the deadline and the clock.
 * @returns the header and the device's address, or why the connection is refused.
 */
export async function readProxyHeader(
  conn: SessionConn,
  options: ReadProxyHeaderOptions,
): Promise<ProxyHeaderOutcome> {
  const { peer, deadlineMs, clock, maxBytes = MAX_PROXY_HEADER_BYTES, signal } = options;
  if (signal?.aborted) {
    closeQuietly(conn);
    return { status: "shutdown" };
  }
  let late = false;
  const timer: TimerId = clock.setTimeout(() => {
    late = true;
    closeQuietly(conn);
  }, deadlineMs);
  const onAbort = () => closeQuietly(conn);
  signal?.addEventListener("abort", onAbort, { once: true });
  const buffer = new Uint8Array(maxBytes);
  let filled = 0;
  try {
    for (;;) {
      const n = await readOrEnd(conn, buffer.subarray(filled));
      if (signal?.aborted) return { status: "shutdown" };
      if (late) {
        return refused(
          "proxy_header_timeout",
          `no whole PROXY protocol header within ${deadlineMs / 1000} s (${filled} bytes came)`,
        );
      }
      if (n === null) {
        closeQuietly(conn);
        return filled === 0
          ? refused("proxy_header_missing", "closed the connection before sending anything")
          : refused(
            "proxy_header_invalid",
            `closed the connection after ${filled} bytes, before a whole PROXY protocol header`,
          );
      }
      filled += n;
      const decoded = decodeProxyHeader(buffer.subarray(0, filled), maxBytes);
      if (decoded.status === "incomplete") continue;
      if (decoded.status === "invalid") {
        closeQuietly(conn);
        return refused(
          decoded.problem === "not_proxy" ? "proxy_header_missing" : "proxy_header_invalid",
          decoded.message,
        );
      }
      const { header, length } = decoded;
      let rest = buffer.slice(length, filled);
      if (header.kind === "local" && rest.length === 0) {
        // A health check says nothing more and hangs up; anything else goes on.
        const more = await readOrEnd(conn, buffer);
        if (signal?.aborted) return { status: "shutdown" };
        if (more === null || late) {
          closeQuietly(conn);
          return { status: "health_check" };
        }
        rest = buffer.slice(0, more);
      }
      const address = header.kind === "tcp4" || header.kind === "tcp6"
        ? header.source.address
        : peer;
      return { status: "ok", address, header, rest };
    }
  } finally {
    clock.clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * `conn` with `prefix` read first: what came after the PROXY header in the reads that
 * took it in.
 */
export function withPrefix(conn: SessionConn, prefix: Uint8Array): SessionConn {
  let pending = prefix;
  return {
    read(buffer) {
      if (pending.length === 0) return conn.read(buffer);
      const n = Math.min(buffer.length, pending.length);
      buffer.set(pending.subarray(0, n));
      pending = pending.subarray(n);
      return Promise.resolve(n);
    },
    write: (bytes) => conn.write(bytes),
    close: () => conn.close(),
  };
}

/** A read that takes a reset or a closed socket for the end of the stream. */
async function readOrEnd(conn: SessionConn, buffer: Uint8Array): Promise<number | null> {
  try {
    return await conn.read(buffer);
  } catch {
    return null;
  }
}

function refused(reason: ProxyRefusalReason, message: string): ProxyHeaderOutcome {
  return { status: "refused", reason, message };
}

function closeQuietly(conn: SessionConn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
