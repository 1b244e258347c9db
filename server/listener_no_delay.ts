/**
 * Turns Nagle's algorithm off on a TLS listener's socket, best effort. `Deno.listenTls`
 * hands out `TlsConn`s without `setNoDelay`; on Linux an accepted socket inherits
 * `TCP_NODELAY` from its listener, so setting it once there is enough. Without it the
 * first reply after the TLS handshake waits for the client's delayed ACK of the session
 * tickets: here a hello took a median 41.7 ms over TLS against 0.1-1.5 ms with it.
 *
 * Deno gives no file descriptor, so the listener is found through FFI into libc among the
 * process's first descriptors (`internal/socket_options.ts`): a listening TCP socket bound to the port. Anything
 * missing (another OS, no `--allow-ffi`, no glibc, two matches) leaves it as it is; nothing
 * here throws.
 *
 * @module
 */

import { SOCKET, SocketOptions } from "../internal/mod.ts";

/**
 * Sets `TCP_NODELAY` on this process's listening TCP socket bound to `port`.
 *
 * @returns whether it is set.
 */
export function setListenerNoDelay(port: number): boolean {
  const options = SocketOptions.open();
  if (options === undefined) return false;
  try {
    const fd = options.findListener(port);
    if (fd === undefined) return false;
    if (!options.setInt(fd, SOCKET.IPPROTO_TCP, SOCKET.TCP_NODELAY, 1)) return false;
    return options.getInt(fd, SOCKET.IPPROTO_TCP, SOCKET.TCP_NODELAY) === 1;
  } catch {
    return false;
  } finally {
    options.close();
  }
}
