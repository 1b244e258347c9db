/**
 * A TCP connection to 127.0.0.1 that its client resets at once (`SO_LINGER` 0, then
 * close): what a port scanner or a balancer's health check may do. Deno cannot set
 * `SO_LINGER`, so the socket is made and reset through FFI into libc. Linux only.
 *
 * @module
 */

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
} as const;

const AF_INET = 2;
const SOCK_STREAM = 1;
const SOL_SOCKET = 1;
const SO_LINGER = 13;

/**
 * Connects to `port` on 127.0.0.1 and resets the connection, `count` times.
 *
 * @throws {Error} when a libc call fails.
 */
export function connectAndReset(port: number, count = 1): void {
  const libc = Deno.dlopen("libc.so.6", SYMBOLS);
  try {
    // struct sockaddr_in: family (host order), port (network order), 127.0.0.1, zero pad.
    const address = new Uint8Array(16);
    const view = new DataView(address.buffer);
    view.setUint16(0, AF_INET, true);
    view.setUint16(2, port);
    address.set([127, 0, 0, 1], 4);
    // struct linger { l_onoff = 1, l_linger = 0 }: close sends a reset.
    const linger = new Uint8Array(new Int32Array([1, 0]).buffer);
    for (let i = 0; i < count; i++) {
      const fd = libc.symbols.socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0) throw new Error("socket() failed");
      try {
        if (libc.symbols.connect(fd, address, address.length) !== 0) {
          throw new Error(`connect() to 127.0.0.1:${port} failed`);
        }
        if (libc.symbols.setsockopt(fd, SOL_SOCKET, SO_LINGER, linger, linger.length) !== 0) {
          throw new Error("setsockopt(SO_LINGER) failed");
        }
      } finally {
        libc.symbols.close(fd);
      }
    }
  } finally {
    libc.close();
  }
}
