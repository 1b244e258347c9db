/**
 * Best-effort Linux socket options for a `Deno.DatagramConn`, which Deno cannot set
 * itself: UDP generic segmentation offload (`UDP_SEGMENT`, Linux ≥ 4.18) and larger
 * `SO_RCVBUF`/`SO_SNDBUF`. Uses FFI into libc on the socket's file descriptor, found by
 * its type and bound address among the first {@linkcode MAX_FD} descriptors. Anything
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

/** Descriptors searched for the socket (Deno processes use few; a search takes ~1.5 ms). */
const MAX_FD = 4096;

const SOL_SOCKET = 1;
const SO_TYPE = 3;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SOCK_DGRAM = 2;
const AF_INET = 2;
const SOL_UDP = 17;
const UDP_SEGMENT = 103;
const UDP_GRO = 104;

const SYMBOLS = {
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>;

function granted(d: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(d).state === "granted";
  } catch {
    return false;
  }
}

function getInt(lib: Libc, fd: number, level: number, name: number): number | undefined {
  const v = new Int32Array(1);
  const len = new Uint32Array([4]);
  const r = lib.symbols.getsockopt(
    fd,
    level,
    name,
    new Uint8Array(v.buffer),
    new Uint8Array(len.buffer),
  );
  return r === 0 ? v[0] : undefined;
}

function setInt(lib: Libc, fd: number, level: number, name: number, value: number): boolean {
  const v = new Int32Array([value]);
  return lib.symbols.setsockopt(fd, level, name, new Uint8Array(v.buffer), 4) === 0;
}

/** The one UDP IPv4 socket of this process bound to exactly `hostname:port`. */
function findFd(lib: Libc, hostname: string, port: number): number | undefined {
  let found: number | undefined;
  const sa = new Uint8Array(128);
  const saLen = new Uint32Array(1);
  const view = new DataView(sa.buffer);
  for (let fd = 0; fd < MAX_FD; fd++) {
    // Closed, not a socket, or not UDP:
    if (getInt(lib, fd, SOL_SOCKET, SO_TYPE) !== SOCK_DGRAM) continue;
    saLen[0] = sa.length;
    if (lib.symbols.getsockname(fd, sa, new Uint8Array(saLen.buffer)) !== 0) continue;
    if (view.getUint16(0, true) !== AF_INET || view.getUint16(2) !== port) continue;
    if (`${sa[4]}.${sa[5]}.${sa[6]}.${sa[7]}` !== hostname) continue;
    if (found !== undefined) return undefined; // ambiguous (SO_REUSEPORT): leave both alone
    found = fd;
  }
  return found;
}

/**
 * Applies `t` to the IPv4 UDP socket bound to `hostname:port` in this process.
 *
 * @param hostname the socket's bound IPv4 address.
 * @param port its bound port.
 * @param t what to ask for.
 * @returns what took effect (empty when nothing could be done).
 */
export function tuneUdpSocket(hostname: string, port: number, t: UdpTuning): UdpTuned {
  if (Deno.build.os !== "linux" || !/^\d+\.\d+\.\d+\.\d+$/.test(hostname)) return {};
  if (!granted({ name: "ffi" })) return {};
  let lib: Libc;
  try {
    lib = Deno.dlopen("libc.so.6", SYMBOLS);
  } catch {
    return {};
  }
  try {
    const fd = findFd(lib, hostname, port);
    if (fd === undefined) return {};
    const out: UdpTuned = {};
    if (t.receiveBufferBytes !== undefined) {
      setInt(lib, fd, SOL_SOCKET, SO_RCVBUF, t.receiveBufferBytes);
    }
    if (t.sendBufferBytes !== undefined) setInt(lib, fd, SOL_SOCKET, SO_SNDBUF, t.sendBufferBytes);
    const rcv = getInt(lib, fd, SOL_SOCKET, SO_RCVBUF);
    if (rcv !== undefined) out.receiveBufferBytes = rcv;
    if (
      t.segmentBytes !== undefined && setInt(lib, fd, SOL_UDP, UDP_SEGMENT, t.segmentBytes) &&
      getInt(lib, fd, SOL_UDP, UDP_SEGMENT) === t.segmentBytes
    ) {
      out.segmentBytes = t.segmentBytes;
    }
    if (t.coalesceReceive && setInt(lib, fd, SOL_UDP, UDP_GRO, 1)) out.coalesced = true;
    return out;
  } catch {
    return {};
  } finally {
    lib.close();
  }
}
