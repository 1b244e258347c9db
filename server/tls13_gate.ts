/**
 * TLS 1.3 only on the device port (SPEC §7), in front of `Deno.listenTls`, which cannot
 * turn TLS 1.2 off (its rustls config takes the default versions). The gate reads each
 * connection's ClientHello before rustls does and refuses, with a TLS alert, any that
 * does not offer TLS 1.3 (`tls/client_hello.ts` decides).
 *
 * How rustls is kept from reading first: Deno starts the handshake as it accepts, in a
 * task that reads as soon as the socket reports readable. The listening socket's
 * `SO_RCVLOWAT` is set to {@linkcode CLIENT_HELLO_HOLD_BYTES} at start-up; an accepted
 * socket inherits it, so it reports readable only once that many bytes wait, which no
 * ClientHello reaches. The gate finds the socket's descriptor
 * (`internal/accepted_socket.ts`: by its two addresses, and provably only that socket),
 * peeks at what has arrived without consuming it, and looks again, paced by real time,
 * until the ClientHello is whole or the login deadline passes. The listener's
 * `TCP_DEFER_ACCEPT` makes the first look the last one almost always: the kernel hands
 * over a connection once its first data has come. A ClientHello that offers
 * TLS 1.3 gets `SO_RCVLOWAT` back to 1, which wakes rustls at once; anything else gets an
 * alert, and the socket is shut down under rustls (so its task ends and the descriptor
 * closes).
 *
 * The check does not trust the low-water mark alone: each look compares the bytes
 * peeked with the bytes the socket has received in all (`tcpi_bytes_received`); they are
 * equal only if nobody has read any, so the bytes checked are the bytes rustls will read.
 * A client that makes rustls read first (by sending {@linkcode CLIENT_HELLO_HOLD_BYTES}
 * at once, or closing its side) is refused.
 *
 * Without FFI, `/proc/self/fd` or Linux the gate cannot run: {@linkcode Tls13Gate.prepare}
 * says why, the server says so once at start-up, and TLS 1.2 is then accepted.
 *
 * @module
 */

import {
  AcceptedSockets,
  type Clock,
  type Peeked,
  SOCKET,
  SocketOptions,
  systemClock,
} from "../internal/mod.ts";
import {
  checkClientHello,
  type ClientHelloCheck,
  encodeTlsAlert,
  MAX_CLIENT_HELLO_BYTES,
  TLS_ALERT,
  type TlsAlertDescription,
} from "../tls/client_hello.ts";

/**
 * Bytes an accepted TLS socket may hold before rustls is told it is readable, until the
 * gate has read the ClientHello: twice {@linkcode MAX_CLIENT_HELLO_BYTES}.
 */
export const CLIENT_HELLO_HOLD_BYTES = 2 * MAX_CLIENT_HELLO_BYTES;

/**
 * For this long (real time) after the first look, the gate looks again every millisecond:
 * a ClientHello normally follows the accept at once, but a loaded client may be late by a
 * few milliseconds, and the wait is a handshake's latency.
 */
export const CLIENT_HELLO_FAST_POLL_MS = 16;

/** The longest pause between two looks at a ClientHello not yet whole (real time). */
export const CLIENT_HELLO_POLL_MAX_MS = 50;

/**
 * `TCP_DEFER_ACCEPT` on the TLS listener: a connection is accepted once data has come, or
 * after about this long without (every TLS client speaks first).
 */
const DEFER_ACCEPT_SECONDS = 1;

/**
 * Looks in a row when the bytes peeked and the bytes received disagree (more arrived
 * between the two calls) before the gate concludes someone else read the socket.
 */
const LOOKS_WHEN_MOVING = 3;

/** The socket calls the gate makes; `internal/accepted_socket.ts` in the server. */
export type GateSockets = Pick<
  AcceptedSockets,
  "locate" | "peek" | "bytesReceived" | "setReceiveLowWater" | "refuse" | "close"
>;

/** Options of {@linkcode Tls13Gate.admit}. */
export interface AdmitOptions {
  /** Milliseconds (on the server's clock) the ClientHello has to arrive whole. */
  deadlineMs: number;
  /** Ends the wait (the server is closing). */
  signal?: AbortSignal;
}

/** Reads ClientHellos before rustls and refuses those that do not offer TLS 1.3. */
export class Tls13Gate {
  readonly #sockets: GateSockets;
  readonly #clock: Clock;
  readonly #pace: Clock;
  /** Where a look copies the socket's bytes (looks are synchronous: one buffer serves all). */
  readonly #buffer = new Uint8Array(CLIENT_HELLO_HOLD_BYTES);
  #admitting = 0;
  #closed = false;

  /**
   * A gate over `sockets`.
   *
   * @param sockets the socket calls (a fake in unit tests).
   * @param options `clock` times the deadline; `pace` the looks (default: real time).
   */
  constructor(sockets: GateSockets, options: { clock: Clock; pace?: Clock }) {
    this.#sockets = sockets;
    this.#clock = options.clock;
    this.#pace = options.pace ?? systemClock;
  }

  /**
   * Opens (and warms) the socket calls the gate needs, before the TLS listener exists, so
   * that holding it once it does takes a fraction of a millisecond: a connection accepted
   * before the hold is not held back (and is refused if rustls reads first).
   *
   * @returns what {@linkcode PreparedTls13Gate.hold} finishes, or why the gate cannot run.
   */
  static prepare(): PreparedTls13Gate | { unavailable: string } {
    const needs = "needs Linux, --allow-ffi and read access to /proc/self/fd";
    const sockets = AcceptedSockets.open();
    if (!sockets) return { unavailable: needs };
    const options = SocketOptions.open();
    if (!options) {
      sockets.close();
      return { unavailable: needs };
    }
    // The first calls through FFI are slow (~10 ms each here); make them now.
    options.findListener(0);
    return new PreparedTls13Gate(sockets, options);
  }

  /**
   * Waits for `conn`'s ClientHello and lets TLS have the connection if it offers TLS 1.3.
   * On a refusal the socket is already shut down; the caller closes `conn`.
   *
   * @returns undefined when TLS may go on, else why the connection is refused.
   */
  async admit(conn: Deno.Conn, options: AdmitOptions): Promise<string | undefined> {
    if (this.#closed) return "the server is shutting down";
    this.#admitting++;
    try {
      return await this.#admit(conn, options);
    } finally {
      if (--this.#admitting === 0 && this.#closed) this.#sockets.close();
    }
  }

  /** Stops admitting; the socket calls close once the last admission in progress ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#admitting === 0) this.#sockets.close();
  }

  async #admit(conn: Deno.Conn, options: AdmitOptions): Promise<string | undefined> {
    const { deadlineMs, signal } = options;
    const fd = this.#sockets.locate(conn);
    // Never let TLS have a socket the gate could not read (the caller closes it).
    if (fd === undefined) return "cannot find its socket to read the ClientHello";
    const deadline = this.#clock.now() + deadlineMs;
    const started = this.#pace.now();
    // The first look again on the next turn of the event loop, then every millisecond for
    // CLIENT_HELLO_FAST_POLL_MS, then 2, 4, 8... ms apart up to CLIENT_HELLO_POLL_MAX_MS.
    let pause = -1;
    for (;;) {
      const check = this.#look(fd);
      if (check.kind === "tls13") {
        if (this.#sockets.setReceiveLowWater(fd, 1)) return undefined;
        this.#sockets.refuse(fd);
        return "cannot hand the connection to TLS (SO_RCVLOWAT)";
      }
      if (check.kind === "refused") {
        this.#sockets.refuse(
          fd,
          check.alert === undefined ? undefined : encodeTlsAlert(check.alert),
        );
        return check.reason;
      }
      const left = deadline - this.#clock.now();
      if (signal?.aborted || left <= 0) {
        this.#sockets.refuse(fd);
        return signal?.aborted
          ? "the server is shutting down"
          : `no whole ClientHello within ${deadlineMs} ms (${check.received} bytes came)`;
      }
      if (pause < 0) pause = 0;
      else if (this.#pace.now() - started < CLIENT_HELLO_FAST_POLL_MS) pause = 1;
      else pause = Math.min(CLIENT_HELLO_POLL_MAX_MS, Math.max(2, 2 * pause));
      await this.#wait(Math.min(pause, left), signal);
    }
  }

  /** What the socket's unread bytes say, if they are all it has received. */
  #look(fd: number): Refusable {
    for (let look = 0; look < LOOKS_WHEN_MOVING; look++) {
      const peeked: Peeked = this.#sockets.peek(fd, this.#buffer);
      if (peeked.kind === "closed") {
        return {
          kind: "refused",
          reason: "the client closed the connection before its ClientHello",
        };
      }
      if (peeked.kind === "failed") {
        return { kind: "refused", reason: "the connection failed before its ClientHello" };
      }
      const count = peeked.kind === "bytes" ? peeked.count : 0;
      if (count >= CLIENT_HELLO_HOLD_BYTES) {
        return {
          kind: "refused",
          alert: TLS_ALERT.handshake_failure,
          reason: `the client sent ${CLIENT_HELLO_HOLD_BYTES} bytes or more before any answer`,
        };
      }
      const received = this.#sockets.bytesReceived(fd);
      if (received === undefined) {
        return { kind: "refused", reason: "the connection failed before its ClientHello" };
      }
      // Peeked first, counted after: equal only if nothing had been read when peeking.
      if (received === count) return checkClientHello(this.#buffer.subarray(0, count));
    }
    return {
      kind: "refused",
      reason: "its first bytes were read before the ClientHello could be checked",
    };
  }

  #wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.#pace.clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = this.#pace.setTimeout(done, ms);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}

/** A check's verdict, where a refusal may come without an alert (nothing to answer). */
type Refusable =
  | Exclude<ClientHelloCheck, { kind: "refused" }>
  | { kind: "refused"; reason: string; alert?: TlsAlertDescription };

/** The gate's socket calls, open before the listener is; {@linkcode Tls13Gate.prepare}. */
export class PreparedTls13Gate {
  readonly #sockets: AcceptedSockets;
  readonly #options: SocketOptions;

  /** Takes the calls {@linkcode Tls13Gate.prepare} opened. */
  constructor(sockets: AcceptedSockets, options: SocketOptions) {
    this.#sockets = sockets;
    this.#options = options;
  }

  /**
   * Holds ClientHellos back from rustls on every socket the TLS listener on `port`
   * accepts from now on.
   *
   * @returns the gate, or why it cannot run (the listener is then left as it was).
   */
  hold(port: number, options: { clock: Clock }): Tls13Gate | { unavailable: string } {
    const held = holdListener(this.#options, port);
    this.#options.close();
    if (held === undefined) return new Tls13Gate(this.#sockets, options);
    this.#sockets.close();
    return { unavailable: held };
  }

  /** Closes the calls (the listener could not be made). */
  cancel(): void {
    this.#options.close();
    this.#sockets.close();
  }
}

/**
 * Sets the TLS listener's `SO_RCVLOWAT` to {@linkcode CLIENT_HELLO_HOLD_BYTES}, then its
 * `TCP_DEFER_ACCEPT`.
 *
 * The kernel raises a socket's receive buffer and clamps its window when the low-water
 * mark needs more room than the buffer has; the listener passes a window clamp on to
 * every socket it accepts, which would slow bulk transfers for good. The mark is set only
 * when the buffer already has four times the room.
 *
 * @returns undefined when set, else why not (the listener is left as it was).
 */
function holdListener(options: SocketOptions, port: number): string | undefined {
  try {
    const fd = options.findListener(port);
    if (fd === undefined) return "cannot find the listening socket";
    const room = options.getInt(fd, SOCKET.SOL_SOCKET, SOCKET.SO_RCVBUF) ?? 0;
    if (room < 4 * CLIENT_HELLO_HOLD_BYTES) {
      return `the listening socket's receive buffer (${room} bytes) is too small`;
    }
    const set = options.setInt(fd, SOCKET.SOL_SOCKET, SOCKET.SO_RCVLOWAT, CLIENT_HELLO_HOLD_BYTES);
    if (
      !set || options.getInt(fd, SOCKET.SOL_SOCKET, SOCKET.SO_RCVLOWAT) !== CLIENT_HELLO_HOLD_BYTES
    ) {
      options.setInt(fd, SOCKET.SOL_SOCKET, SOCKET.SO_RCVLOWAT, 1);
      return "cannot set SO_RCVLOWAT on the listening socket";
    }
    // Best effort, for speed only: the kernel hands over a connection once its first data
    // (the ClientHello) has come, so the gate's first look finds it.
    options.setInt(fd, SOCKET.IPPROTO_TCP, SOCKET.TCP_DEFER_ACCEPT, DEFER_ACCEPT_SECONDS);
    return undefined;
  } catch {
    return "cannot set SO_RCVLOWAT on the listening socket";
  }
}
