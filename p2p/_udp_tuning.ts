/**
 * Best-effort Linux socket options for a `Deno.DatagramConn`, which Deno cannot set
 * itself: UDP generic segmentation offload (`UDP_SEGMENT`, Linux ≥ 4.18) and larger
 * `SO_RCVBUF`/`SO_SNDBUF`. Uses FFI into libc on the socket's file descriptor, found by
 * its type and bound address (`internal/socket_options.ts`). Anything
 * missing (another OS, no `--allow-ffi`, no glibc, an old kernel, an ambiguous match)
 * leaves the socket untouched; nothing here ever prompts or throws.
 *
 * With `UDP_SEGMENT = n`, one `send()` of k·n bytes leaves as k datagrams of n bytes
 * (the last may be shorter), each its own UDP datagram on the wire: the per-datagram
 * system-call cost is paid once per batch. With `UDP_GRO`, the kernel may hand such a
 * run to the receiver in one read (the reader splits it again).
 *
 * @module
 */

import { SOCKET, SocketOptions } from "../internal/mod.ts";

/** What {@linkcode tuneUdpSocket} asks for. */
export interface UdpTuning {
  /** Datagram size for segmentation offload; `send()`s longer than this are split. */
  segmentBytes?: number;
  /** Requested `SO_RCVBUF` (the kernel caps it at `net.core.rmem_max`). */
  receiveBufferBytes?: number;
  /** Requested `SO_SNDBUF` (the kernel caps it at `net.core.wmem_max`). */
  sendBufferBytes?: number;
  /**
   * Turns on receive coalescing (`UDP_GRO`): one read may then return several
   * datagrams of one flow back to back, all of one size except a shorter last one.
   */
  coalesceReceive?: boolean;
}

/** What {@linkcode tuneUdpSocket} achieved. */
export interface UdpTuned {
  /** Set when segmentation offload is on, to `UdpTuning.segmentBytes`. */
  segmentBytes?: number;
  /** The kernel's `SO_RCVBUF` after the request (it reports twice what it accounts). */
  receiveBufferBytes?: number;
  /** Whether receive coalescing is on. */
  coalesced?: boolean;
}

const {
  SOL_SOCKET,
  SO_SNDBUF,
  SO_RCVBUF,
  SOCK_DGRAM,
  AF_INET,
  SOL_UDP,
  UDP_SEGMENT,
  UDP_GRO,
} = SOCKET;

/**
 * Applies `t` to the IPv4 UDP socket bound to `hostname:port` in this process.
 *
 * @param hostname the socket's bound IPv4 address.
 * @param port its bound port.
 * @param t what to ask for.
 * @returns what took effect (empty when nothing could be done).
 */
export function tuneUdpSocket(hostname: string, port: number, t: UdpTuning): UdpTuned {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(hostname)) return {};
  const options = SocketOptions.open();
  if (options === undefined) return {};
  try {
    // The one UDP IPv4 socket of this process bound to exactly hostname:port.
    const fd = options.find(
      SOCK_DGRAM,
      (_, address, view) =>
        view.getUint16(0, true) === AF_INET && view.getUint16(2) === port &&
        `${address[4]}.${address[5]}.${address[6]}.${address[7]}` === hostname,
    );
    if (fd === undefined) return {};
    const out: UdpTuned = {};
    if (t.receiveBufferBytes !== undefined) {
      options.setInt(fd, SOL_SOCKET, SO_RCVBUF, t.receiveBufferBytes);
    }
    if (t.sendBufferBytes !== undefined) {
      options.setInt(fd, SOL_SOCKET, SO_SNDBUF, t.sendBufferBytes);
    }
    const rcv = options.getInt(fd, SOL_SOCKET, SO_RCVBUF);
    if (rcv !== undefined) out.receiveBufferBytes = rcv;
    if (
      t.segmentBytes !== undefined &&
      options.setInt(fd, SOL_UDP, UDP_SEGMENT, t.segmentBytes) &&
      options.getInt(fd, SOL_UDP, UDP_SEGMENT) === t.segmentBytes
    ) {
      out.segmentBytes = t.segmentBytes;
    }
    if (t.coalesceReceive && options.setInt(fd, SOL_UDP, UDP_GRO, 1)) out.coalesced = true;
    return out;
  } catch {
    return {};
  } finally {
    options.close();
  }
}
