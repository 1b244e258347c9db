/**
 * Socket options Deno cannot set itself, through FFI into libc, best effort: the socket is
 * found by what it is (type, listening or not, bound address) among this process's open
 * descriptors (`/proc/self/fd`, else the first {@linkcode MAX_FD}), since Deno gives no file
 * descriptor. Anything missing (another OS, no `--allow-ffi`, no glibc, an ambiguous match)
 * means "leave it as it is"; nothing here prompts or throws. Used by `p2p/_udp_tuning.ts`
 * (segmentation offload, buffer sizes), `server/listener_no_delay.ts` (`TCP_NODELAY` on a
 * TLS listener) and `server/tls13_gate.ts` (`SO_RCVLOWAT` on it).
 *
 * @module
 */

/**
 * Descriptors searched for a socket when `/proc/self/fd` cannot be read (Deno processes use
 * few; such a search takes 1.5-10 ms, a system call each).
 */
export const MAX_FD = 4096;

/** The Linux constants the callers use. */
export const SOCKET = {
  SOL_SOCKET: 1,
  SO_TYPE: 3,
  SO_SNDBUF: 7,
  SO_RCVBUF: 8,
  SO_RCVLOWAT: 18,
  SO_ACCEPTCONN: 30,
  SO_PROTOCOL: 38,
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  AF_INET: 2,
  AF_INET6: 10,
  IPPROTO_TCP: 6,
  TCP_NODELAY: 1,
  TCP_DEFER_ACCEPT: 9,
  TCP_INFO: 11,
  SOL_UDP: 17,
  UDP_SEGMENT: 103,
  UDP_GRO: 104,
} as const;

const SYMBOLS = {
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
} as const;

/** libc's socket-option calls, open until `close()`. */
export class SocketOptions {
  readonly #lib: Deno.DynamicLibrary<typeof SYMBOLS>;

  private constructor(lib: Deno.DynamicLibrary<typeof SYMBOLS>) {
    this.#lib = lib;
  }

  /** Opens libc, or `undefined` when this is not Linux, FFI is not granted or no glibc. */
  static open(): SocketOptions | undefined {
    if (Deno.build.os !== "linux") return undefined;
    try {
      if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
      return new SocketOptions(Deno.dlopen("libc.so.6", SYMBOLS));
    } catch {
      return undefined;
    }
  }

  /** An integer option, `undefined` when it cannot be read (closed, not a socket...). */
  getInt(fd: number, level: number, name: number): number | undefined {
    const value = new Int32Array(1);
    const length = new Uint32Array([4]);
    const result = this.#lib.symbols.getsockopt(
      fd,
      level,
      name,
      new Uint8Array(value.buffer),
      new Uint8Array(length.buffer),
    );
    return result === 0 ? value[0] : undefined;
  }

  /** Sets an integer option; whether the call succeeded. */
  setInt(fd: number, level: number, name: number, value: number): boolean {
    const bytes = new Uint8Array(new Int32Array([value]).buffer);
    return this.#lib.symbols.setsockopt(fd, level, name, bytes, 4) === 0;
  }

  /**
   * The one socket of type `type` whose bound address (a `sockaddr`, read through `view`)
   * `matches`; `undefined` when none or more than one does (leave both alone).
   */
  find(
    type: number,
    matches: (fd: number, address: Uint8Array, view: DataView) => boolean,
  ): number | undefined {
    let found: number | undefined;
    const address = new Uint8Array(128);
    const length = new Uint32Array(1);
    const view = new DataView(address.buffer);
    for (const fd of openDescriptors()) {
      // Closed, not a socket, or another type:
      if (this.getInt(fd, SOCKET.SOL_SOCKET, SOCKET.SO_TYPE) !== type) continue;
      length[0] = address.length;
      if (this.#lib.symbols.getsockname(fd, address, new Uint8Array(length.buffer)) !== 0) {
        continue;
      }
      if (!matches(fd, address, view)) continue;
      if (found !== undefined) return undefined;
      found = fd;
    }
    return found;
  }

  /**
   * This process's one listening TCP socket bound to `port` (IPv4 or IPv6: the port is at
   * offset 2 of either `sockaddr`), `undefined` when none or more than one is.
   */
  findListener(port: number): number | undefined {
    return this.find(
      SOCKET.SOCK_STREAM,
      (fd, _, view) =>
        this.getInt(fd, SOCKET.SOL_SOCKET, SOCKET.SO_ACCEPTCONN) === 1 &&
        view.getUint16(2) === port,
    );
  }

  /** Closes libc. */
  close(): void {
    this.#lib.close();
  }
}

/**
 * The descriptors to search: those `/proc/self/fd` lists when it may be read (a few dozen
 * instead of {@linkcode MAX_FD} probes of ~2.5 µs each), else 0 to {@linkcode MAX_FD}.
 */
function openDescriptors(): Iterable<number> {
  try {
    if (Deno.permissions.querySync({ name: "read", path: "/proc/self/fd" }).state === "granted") {
      return [...Deno.readDirSync("/proc/self/fd")].map((entry) => Number(entry.name))
        .filter(Number.isInteger);
    }
  } catch {
    // no /proc: probe them all
  }
  return Array.from({ length: MAX_FD }, (_, fd) => fd);
}
