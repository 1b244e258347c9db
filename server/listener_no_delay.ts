/**
 * Turns Nagle's algorithm off on a TLS listener's socket, best effort. `Deno.listenTls`
 * hands out `TlsConn`s without `setNoDelay`; on Linux an accepted socket inherits
 * `TCP_NODELAY` from its listener, so setting it once there is enough. Without it the
 * first reply after the TLS handshake waits for the client's delayed ACK of the session
 * tickets: here a hello took a median 41.7 ms over TLS against 0.1-1.5 ms with it.
 *
 * Deno gives no file descriptor, so the listener is found through FFI into libc among the
 * first {@linkcode MAX_FD} descriptors: a listening TCP socket bound to the port. Anything
 * missing (another OS, no `--allow-ffi`, no glibc, two matches) leaves it as it is; nothing
 * here throws.
 *
 * @module
 */

/** Descriptors searched for the listener (a search takes a few milliseconds, once). */
const MAX_FD = 4096;

const SOL_SOCKET = 1;
const SO_TYPE = 3;
const SO_ACCEPTCONN = 30;
const SOCK_STREAM = 1;
const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;

const SYMBOLS = {
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>;

/**
 * Sets `TCP_NODELAY` on this process's listening TCP socket bound to `port`.
 *
 * @returns whether it is set.
 */
export function setListenerNoDelay(port: number): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return false;
  } catch {
    return false;
  }
  let lib: Libc;
  try {
    lib = Deno.dlopen("libc.so.6", SYMBOLS);
  } catch {
    return false;
  }
  try {
    const fd = findListener(lib, port);
    if (fd === undefined) return false;
    const one = new Int32Array([1]);
    if (lib.symbols.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, new Uint8Array(one.buffer), 4)) {
      return false;
    }
    return getInt(lib, fd, IPPROTO_TCP, TCP_NODELAY) === 1;
  } catch {
    return false;
  } finally {
    lib.close();
  }
}

function getInt(lib: Libc, fd: number, level: number, name: number): number | undefined {
  const value = new Int32Array(1);
  const length = new Uint32Array([4]);
  const result = lib.symbols.getsockopt(
    fd,
    level,
    name,
    new Uint8Array(value.buffer),
    new Uint8Array(length.buffer),
  );
  return result === 0 ? value[0] : undefined;
}

/** The one listening TCP socket bound to `port` (IPv4 or IPv6: the port sits at offset 2). */
function findListener(lib: Libc, port: number): number | undefined {
  let found: number | undefined;
  const address = new Uint8Array(128);
  const length = new Uint32Array(1);
  const view = new DataView(address.buffer);
  for (let fd = 0; fd < MAX_FD; fd++) {
    if (getInt(lib, fd, SOL_SOCKET, SO_TYPE) !== SOCK_STREAM) continue;
    if (getInt(lib, fd, SOL_SOCKET, SO_ACCEPTCONN) !== 1) continue;
    length[0] = address.length;
    if (lib.symbols.getsockname(fd, address, new Uint8Array(length.buffer)) !== 0) continue;
    if (view.getUint16(2) !== port) continue;
    if (found !== undefined) return undefined; // two listeners on the port: leave both
    found = fd;
  }
  return found;
}
