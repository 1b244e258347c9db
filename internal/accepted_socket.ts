/**
 * An accepted TCP connection's socket seen through FFI into libc: Deno gives no file
 * descriptor, so the socket is found by its addresses, and then its first bytes can be
 * peeked at, the connection refused, or its receive low-water mark set. Used by
 * `server/tls13_gate.ts` to read a ClientHello before rustls does.
 *
 * **Finding the descriptor cannot pick a wrong socket.** The search takes the first
 * descriptor that is a TCP socket (`SO_TYPE` stream, a peer) whose peer address *and*
 * local address both equal the connection's (family, address, port). The kernel keeps at
 * most one socket per such 4-tuple in a network namespace (a second connect or SYN with
 * the same 4-tuple reaches the existing socket), and all of this process's sockets are in
 * one namespace (iotnet never receives descriptors from other processes). The connection
 * itself stays open for as long as its caller holds it, so its descriptor cannot be
 * closed and reused under the search, and another thread opening or closing other
 * descriptors meanwhile cannot produce a match. A socket in TIME_WAIT has no descriptor;
 * a listening socket has no peer; a client socket of this process connected to the
 * server has the two addresses the other way round (equal only for a self-connection,
 * which the listener's port being taken rules out).
 *
 * Requirements: Linux, glibc, `--allow-ffi`, and read access to `/proc/self/fd` (the list
 * of open descriptors, so the search never probes closed numbers up to the descriptor
 * limit). {@linkcode AcceptedSockets.open} says `undefined` otherwise.
 *
 * @module
 */

import { ipAddressBytes } from "./ip_address.ts";
import { SOCKET, SocketOptions } from "./socket_options.ts";

/**
 * Descriptors tried first, without listing `/proc/self/fd`: the last one found and the
 * {@linkcode HINT_ABOVE} after it (a burst of accepts), then the {@linkcode HINT_BELOW}
 * below it (accept() hands out the lowest free number: one a closed connection left).
 * A probe is a system call or two, ~2.5 µs; listing the directory costs about as much per
 * descriptor, and probing them all a system call each.
 */
const HINT_ABOVE = 4;
const HINT_BELOW = 16;

const MSG_PEEK = 0x02;
const MSG_DONTWAIT = 0x40;
const MSG_NOSIGNAL = 0x4000;
const SHUT_RDWR = 2;
/** `struct tcp_info`: `tcpi_state` at 0, `tcpi_bytes_received` (u64) at 128 (Linux ≥ 4.1). */
const TCP_INFO_BYTES = 136;
const TCP_INFO_BYTES_RECEIVED = 128;
const TCP_ESTABLISHED = 1;

const SYMBOLS = {
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
} as const;

/** What {@linkcode AcceptedSockets.peek} found. */
export type Peeked =
  /** This many unread bytes, copied to the front of the buffer. */
  | { kind: "bytes"; count: number }
  /** Nothing has arrived yet. */
  | { kind: "nothing" }
  /** The peer closed its side before sending anything. */
  | { kind: "closed" }
  /** The connection failed (reset, timed out) or the descriptor is no socket. */
  | { kind: "failed" };

/** libc's calls on accepted TCP sockets, open until `close()`. */
export class AcceptedSockets {
  readonly #lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  /** Integer options go through the same calls as everywhere else. */
  readonly #options: SocketOptions;
  readonly #address = new Uint8Array(128);
  readonly #length = new Uint32Array(1);
  readonly #info = new Uint8Array(TCP_INFO_BYTES);
  #lastFound = -1;

  private constructor(lib: Deno.DynamicLibrary<typeof SYMBOLS>, options: SocketOptions) {
    this.#lib = lib;
    this.#options = options;
  }

  /**
   * Opens libc, or `undefined` when this is not Linux, FFI or reading `/proc/self/fd` is
   * not granted, or there is no glibc. Never prompts.
   */
  static open(): AcceptedSockets | undefined {
    if (Deno.build.os !== "linux") return undefined;
    try {
      if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
      const read = Deno.permissions.querySync({ name: "read", path: "/proc/self/fd" });
      if (read.state !== "granted") return undefined;
      const options = SocketOptions.open();
      if (!options) return undefined;
      return new AcceptedSockets(Deno.dlopen("libc.so.6", SYMBOLS), options);
    } catch {
      return undefined;
    }
  }

  /**
   * The descriptor of `conn`'s socket, or `undefined` when no open descriptor is that
   * socket (or an address is not an IP address). `conn` must stay open meanwhile.
   */
  locate(conn: { localAddr: Deno.Addr; remoteAddr: Deno.Addr }): number | undefined {
    const local = socketAddress(conn.localAddr);
    const remote = socketAddress(conn.remoteAddr);
    if (!local || !remote) return undefined;
    const tried = new Set<number>();
    const probe = (fd: number) => {
      tried.add(fd);
      if (!this.#is(fd, local, remote)) return false;
      this.#lastFound = fd;
      return true;
    };
    const last = this.#lastFound;
    for (let fd = Math.max(0, last); fd <= last + HINT_ABOVE; fd++) if (probe(fd)) return fd;
    for (let fd = last - 1; fd >= Math.max(0, last - HINT_BELOW); fd--) if (probe(fd)) return fd;
    // Listed at once, not asynchronously: a burst of accepts would otherwise all miss the
    // hint while the first listing waits its turn, and queue hundreds of listings.
    let open: number[];
    try {
      open = [...Deno.readDirSync("/proc/self/fd")].map((entry) => Number(entry.name));
    } catch {
      return undefined;
    }
    // Lowest first: accept() hands out the lowest free descriptor.
    for (const fd of open.sort((a, b) => a - b)) {
      if (Number.isInteger(fd) && !tried.has(fd) && probe(fd)) return fd;
    }
    return undefined;
  }

  /**
   * Copies the socket's unread bytes, up to `into.length`, without consuming them.
   * Never blocks.
   */
  peek(fd: number, into: Uint8Array): Peeked {
    const n = Number(
      this.#lib.symbols.recv(fd, into, BigInt(into.length), MSG_PEEK | MSG_DONTWAIT),
    );
    if (n > 0) return { kind: "bytes", count: n };
    if (n === 0) return { kind: "closed" };
    // -1: EAGAIN while the connection is up, else an error (no errno needed).
    return this.#state(fd) === TCP_ESTABLISHED ? { kind: "nothing" } : { kind: "failed" };
  }

  /** Bytes the socket has received in order since it was accepted, read or not. */
  bytesReceived(fd: number): number | undefined {
    if (!this.#tcpInfo(fd)) return undefined;
    const view = new DataView(this.#info.buffer);
    return Number(view.getBigUint64(TCP_INFO_BYTES_RECEIVED, true));
  }

  /**
   * Sets `SO_RCVLOWAT`: readers are told the socket is readable only once `bytes` are
   * waiting. Lowering it wakes them if that many are.
   */
  setReceiveLowWater(fd: number, bytes: number): boolean {
    return this.#options.setInt(fd, SOCKET.SOL_SOCKET, SOCKET.SO_RCVLOWAT, bytes);
  }

  /**
   * Ends the connection for whoever else holds the socket too: sends `last` if given
   * (best effort, never blocking), discards what the peer sent, then shuts both directions.
   */
  refuse(fd: number, last?: Uint8Array): void {
    if (last) this.#lib.symbols.send(fd, last, BigInt(last.length), MSG_DONTWAIT | MSG_NOSIGNAL);
    // Drained, so the close that follows sends FIN rather than RST (which could overtake
    // the alert) and TLS finds nothing left to read.
    const sink = new Uint8Array(16 * 1024);
    for (let i = 0; i < 8; i++) {
      if (Number(this.#lib.symbols.recv(fd, sink, BigInt(sink.length), MSG_DONTWAIT)) <= 0) break;
    }
    this.#lib.symbols.shutdown(fd, SHUT_RDWR);
  }

  /** Closes libc. */
  close(): void {
    this.#lib.close();
    this.#options.close();
  }

  /** Whether `fd` is a TCP socket with exactly these local and peer addresses. */
  #is(fd: number, local: Uint8Array, remote: Uint8Array): boolean {
    const { getpeername, getsockname } = this.#lib.symbols;
    const length = new Uint8Array(this.#length.buffer);
    this.#length[0] = this.#address.length;
    if (getpeername(fd, this.#address, length) !== 0) return false;
    if (!sameAddress(this.#address, this.#length[0]!, remote)) return false;
    this.#length[0] = this.#address.length;
    if (getsockname(fd, this.#address, length) !== 0) return false;
    if (!sameAddress(this.#address, this.#length[0]!, local)) return false;
    return this.#options.getInt(fd, SOCKET.SOL_SOCKET, SOCKET.SO_TYPE) === SOCKET.SOCK_STREAM &&
      this.#options.getInt(fd, SOCKET.SOL_SOCKET, SOCKET.SO_PROTOCOL) === SOCKET.IPPROTO_TCP;
  }

  #tcpInfo(fd: number): boolean {
    this.#info.fill(0);
    const length = new Uint32Array([TCP_INFO_BYTES]);
    const ok = this.#lib.symbols.getsockopt(
      fd,
      SOCKET.IPPROTO_TCP,
      SOCKET.TCP_INFO,
      this.#info,
      new Uint8Array(length.buffer),
    ) === 0;
    return ok && length[0]! >= TCP_INFO_BYTES;
  }

  #state(fd: number): number | undefined {
    return this.#tcpInfo(fd) ? this.#info[0] : undefined;
  }
}

/**
 * An address as the `sockaddr` bytes that identify it: family (2 bytes, host order),
 * port (2 bytes, network order), then for IPv4 the 4 address bytes at 4, for IPv6 the 16
 * at 8 (flow info and scope id are not compared).
 */
function socketAddress(addr: Deno.Addr): Uint8Array | undefined {
  if (addr.transport !== "tcp") return undefined;
  const ip = ipAddressBytes(addr.hostname);
  if (!ip) return undefined;
  const v6 = ip.length === 16;
  const bytes = new Uint8Array(v6 ? 24 : 8);
  new Uint16Array(bytes.buffer, 0, 1)[0] = v6 ? SOCKET.AF_INET6 : SOCKET.AF_INET;
  new DataView(bytes.buffer).setUint16(2, addr.port);
  bytes.set(ip, v6 ? 8 : 4);
  return bytes;
}

function sameAddress(found: Uint8Array, length: number, wanted: Uint8Array): boolean {
  const v6 = wanted.length === 24;
  if (length < (v6 ? 24 : 8)) return false;
  for (let i = 0; i < 4; i++) if (found[i] !== wanted[i]) return false;
  for (let i = v6 ? 8 : 4; i < wanted.length; i++) if (found[i] !== wanted[i]) return false;
  return true;
}
