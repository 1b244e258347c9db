/**
 * The only file that opens UDP sockets (`Deno.listenDatagram`). Everything else in
 * `p2p/` talks to a {@linkcode DatagramSocket}.
 *
 * @module
 */

import { tuneUdpSocket } from "./_udp_tuning.ts";

/** A UDP peer address. */
export interface PeerAddr {
  /** IPv4 address or host name. */
  hostname: string;
  /** UDP port. */
  port: number;
}

/**
 * One received datagram. The bytes are only valid until the next `receive()`; `from` is
 * never mutated (a socket may hand out the same object for the same peer again).
 */
export interface Datagram {
  /** The datagram (or, with receive coalescing, several back to back). */
  bytes: Uint8Array;
  /** The sender's address. */
  from: PeerAddr;
}

/** The little the transport needs from a datagram socket. */
export interface DatagramSocket {
  /** The bound address. */
  readonly addr: PeerAddr;
  /**
   * Sends one datagram; or, when {@linkcode segmentBytes} is set and `bytes` is longer,
   * up to {@linkcode maxSegments} back-to-back datagrams of `segmentBytes` bytes each
   * (the last may be shorter) in one call.
   */
  send(bytes: Uint8Array, to: PeerAddr): Promise<void>;
  /** Set when one `send()` may carry several datagrams of exactly this size. */
  readonly segmentBytes?: number | undefined;
  /** Most datagrams one `send()` may carry (1 when segmentation is off). */
  readonly maxSegments?: number | undefined;
  /** The kernel's receive buffer in bytes, when known (Linux `SO_RCVBUF`). */
  readonly receiveBufferBytes?: number | undefined;
  /**
   * True when `receive()` may return several datagrams of one sender back to back
   * (receive coalescing): all of one size except a shorter last one. The reader splits
   * them; the size is the first datagram's own length.
   */
  readonly coalesced?: boolean | undefined;
  /**
   * Waits for the next datagram; `undefined` once the socket is closed. The returned
   * bytes view a reused buffer: copy or decode before calling again.
   */
  receive(): Promise<Datagram | undefined>;
  /** Closes the socket; a pending `receive()` resolves `undefined`. */
  close(): void;
}

/** Largest UDP datagram we ever read. */
const RECEIVE_BUFFER_BYTES = 65_536;
/** Largest UDP payload over IPv4; a segmented send must fit in it. */
const MAX_UDP_PAYLOAD = 65_507;
/** Most segments we put in one send (Linux accepts 64, newer kernels 128). */
const MAX_SEGMENTS = 64;

/** Options of {@linkcode openUdpSocket}; all best effort (Linux, with FFI permission). */
export interface UdpSocketOptions {
  /**
   * Enables UDP segmentation offload for datagrams of exactly this size: one `send()`
   * then carries up to 64 of them. Only for sockets that never send a single datagram
   * longer than this.
   */
  segmentBytes?: number;
  /** Kernel receive buffer to request (capped by `net.core.rmem_max`). */
  receiveBufferBytes?: number;
  /** Kernel send buffer to request (capped by `net.core.wmem_max`). */
  sendBufferBytes?: number;
  /** Lets the kernel coalesce received datagrams (see `DatagramSocket.coalesced`). */
  coalesceReceive?: boolean;
}

function ignore(): void {}

class DenoUdpSocket implements DatagramSocket {
  #conn: Deno.DatagramConn;
  #buf = new Uint8Array(RECEIVE_BUFFER_BYTES);
  #closed = false;
  /** The last destination, as Deno wants it (reused while the peer stays the same). */
  #to: Deno.NetAddr = { transport: "udp", hostname: "", port: 0 };
  /** The last source, handed out again while it stays the same (never mutated). */
  #from: PeerAddr = { hostname: "", port: 0 };
  #onSendError = (e: unknown): void => {
    // UDP is best effort: a closed socket or an ICMP-refused peer is a lost datagram.
    if (this.#closed || e instanceof Deno.errors.ConnectionRefused) return;
    if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return;
    throw e;
  };
  #onBatchError = (e: unknown): void => {
    // A path that refuses segmentation (e.g. no checksum offload): the batch is lost
    // (loss recovery resends it) and later sends go one datagram at a time.
    if (!this.#closed && this.#maxSegments > 1) this.#maxSegments = 1;
    this.#onSendError(e);
  };
  #segmentBytes: number | undefined;
  #maxSegments = 1;
  readonly coalesced: boolean = false;
  readonly receiveBufferBytes: number | undefined;
  readonly addr: PeerAddr;

  constructor(conn: Deno.DatagramConn, o: UdpSocketOptions) {
    this.#conn = conn;
    const a = conn.addr as Deno.NetAddr;
    this.addr = { hostname: a.hostname, port: a.port };
    if (
      o.segmentBytes !== undefined || o.receiveBufferBytes !== undefined ||
      o.sendBufferBytes !== undefined || o.coalesceReceive
    ) {
      const tuned = tuneUdpSocket(a.hostname, a.port, o);
      this.coalesced = tuned.coalesced === true;
      this.receiveBufferBytes = tuned.receiveBufferBytes;
      if (tuned.segmentBytes !== undefined) {
        this.#segmentBytes = tuned.segmentBytes;
        this.#maxSegments = Math.min(
          MAX_SEGMENTS,
          Math.floor(MAX_UDP_PAYLOAD / tuned.segmentBytes),
        );
      }
    }
  }

  get segmentBytes(): number | undefined {
    return this.#maxSegments > 1 ? this.#segmentBytes : undefined;
  }

  get maxSegments(): number {
    return this.#maxSegments;
  }

  send(bytes: Uint8Array, to: PeerAddr): Promise<void> {
    if (this.#closed) return Promise.resolve();
    let addr = this.#to;
    if (addr.port !== to.port || addr.hostname !== to.hostname) {
      addr = this.#to = { transport: "udp", hostname: to.hostname, port: to.port };
    }
    // Deno issues the syscall inside send(); only its completion is asynchronous.
    const batch = this.#segmentBytes !== undefined && bytes.length > this.#segmentBytes;
    return this.#conn.send(bytes, addr).then(
      ignore,
      batch ? this.#onBatchError : this.#onSendError,
    );
  }

  async receive(): Promise<Datagram | undefined> {
    for (;;) {
      if (this.#closed) return undefined;
      try {
        // Our own buffer: no allocation per datagram (docs/P2P.md, "Performance notes").
        const [bytes, addr] = await this.#conn.receive(this.#buf);
        const a = addr as Deno.NetAddr;
        let from = this.#from;
        if (from.port !== a.port || from.hostname !== a.hostname) {
          from = this.#from = { hostname: a.hostname, port: a.port };
        }
        return { bytes, from };
      } catch (e) {
        if (
          this.#closed || e instanceof Deno.errors.BadResource ||
          e instanceof Deno.errors.Interrupted
        ) {
          return undefined;
        }
        // Linux reports an earlier ICMP port-unreachable on the next receive: ignore.
        if (
          e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.ConnectionReset
        ) continue;
        throw e;
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

/**
 * Opens a UDP socket.
 *
 * @param hostname local address to bind (e.g. `127.0.0.1`).
 * @param port local port; `0` picks a free one (read it back from `addr`).
 * @param options kernel options to try (segmentation offload, buffer sizes).
 * @returns the socket.
 * @throws {Deno.errors.AddrInUse} when the port is taken.
 * @example
 * ```ts
 * import { openUdpSocket } from "./udp_socket.ts";
 * const s = openUdpSocket("127.0.0.1", 0);
 * console.assert(s.addr.port > 0);
 * s.close();
 * ```
 */
export function openUdpSocket(
  hostname: string,
  port: number,
  options: UdpSocketOptions = {},
): DatagramSocket {
  return new DenoUdpSocket(Deno.listenDatagram({ transport: "udp", hostname, port }), options);
}

/**
 * A stable map key for an address.
 *
 * @param a the address.
 * @returns `host:port`.
 */
export function addrKey(a: PeerAddr): string {
  return `${a.hostname}:${a.port}`;
}
