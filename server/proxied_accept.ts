/**
 * The accept path of a server started with `--proxy-protocol` (SPEC §9), for each
 * connection the balancer opens: a place among the connections held (the caps on all
 * connections at once), the PROXY header within the login deadline
 * (`server/proxied_connection.ts`), the per-address cap on the device's address from the
 * header, TLS after the header with `--tls-cert` (`server/proxied_tls.ts`), then the
 * session, which knows only the device's address. Refusals are logged with who and why
 * and counted by reason.
 *
 * @module
 */

import type { Clock } from "../internal/mod.ts";
import type { Admission, AdmissionSlot } from "./admission.ts";
import type { RefusalReason } from "./http/server_metrics.ts";
import { readProxyHeader, withPrefix } from "./proxied_connection.ts";
import type { SessionConn } from "./session.ts";

/**
 * Runs the server's TLS handshake on a connection whose PROXY header has been read;
 * `rest` is what came after the header.
 */
export type SecureAfterHeader = (
  conn: Deno.Conn,
  rest: Uint8Array,
) => Promise<{ conn: SessionConn } | { problem: string }>;

/** What {@linkcode acceptProxied} works with: the server's, made once. */
export interface ProxiedAcceptContext {
  admission: Admission;
  log: (line: string) => void;
  /** Counts and records a connection refused at accept (a metric and a feed event). */
  refused: (ip: string, reason: RefusalReason, detail: string) => void;
  clock: Clock;
  /** Time the header has to arrive, and then the TLS handshake: the login deadline. */
  deadlineMs: number;
  /**
   * With `--tls-cert`: the device speaks TLS after the header; this runs the handshake
   * (`acceptTls` of `server/proxied_tls.ts`, with the deadline and the closing signal).
   */
  tls: SecureAfterHeader | undefined;
  /** Starts a session on the device's stream. */
  startSession: (conn: SessionConn, slot: AdmissionSlot) => void;
  /** Tells a device it cannot be taken now, then closes its stream. */
  refuse: (conn: SessionConn, message: string) => void;
  /** Aborted when the server closes: connections not yet handed on are closed. */
  closing: AbortSignal;
}

/**
 * Takes a connection just accepted from the balancer through to its session. Never
 * throws; a connection it does not hand on is closed.
 *
 * @param conn the accepted socket, nothing read from it.
 * @param context the server's parts.
 */
export async function acceptProxied(conn: Deno.Conn, context: ProxiedAcceptContext): Promise<void> {
  const { admission, refused, log, clock, deadlineMs, tls, closing: signal } = context;
  const peer = (conn.remoteAddr as Deno.NetAddr).hostname;
  const waiting = admission.admitUnaddressed();
  if ("reason" in waiting) {
    refused(peer, waiting.reason, waiting.message);
    // A refusal in the protocol's own words needs the device's stream, which with TLS
    // starts only after a handshake: not spent on a connection that cannot stay.
    if (tls) closeQuietly(conn);
    else context.refuse(conn, waiting.message);
    return;
  }
  const found = await readProxyHeader(conn, { peer, deadlineMs, clock, signal });
  if (found.status !== "ok") {
    waiting.release();
    if (found.status === "refused") {
      refused(peer, found.reason, found.message);
    }
    return;
  }
  const ip = found.address;
  const slot = waiting.address(ip);
  if ("reason" in slot) {
    refused(ip, slot.reason, `${slot.message} (through ${peer})`);
    if (tls) closeQuietly(conn);
    else context.refuse(withPrefix(conn, found.rest), slot.message);
    return;
  }
  let stream: SessionConn = withPrefix(conn, found.rest);
  if (tls) {
    const secured = await tls(conn, found.rest);
    if ("problem" in secured) {
      slot.release();
      if (!signal.aborted) log(`TLS handshake with ${ip} failed: ${secured.problem}`);
      return;
    }
    stream = secured.conn;
  }
  if (signal.aborted) {
    // The server closed while this connection was on its way: its sessions are gone.
    slot.release();
    stream.close();
    return;
  }
  context.startSession(stream, slot);
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
