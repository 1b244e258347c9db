/**
 * A TCP proxy on 127.0.0.1 whose client-to-server direction can be paused: a stalled
 * uplink, so an upload stays in progress for as long as a test needs to watch it and
 * cancel it. Async-disposable.
 *
 * @module
 */

/** A running proxy. */
export class PausableTcpProxy implements AsyncDisposable {
  readonly #listener: Deno.TcpListener;
  readonly #conns = new Set<Deno.Conn>();
  readonly #accepting: Promise<void>;
  /** Resolves when the uplink is resumed; `undefined` while it flows. */
  #paused: PromiseWithResolvers<void> | undefined;

  private constructor(listener: Deno.TcpListener, target: number) {
    this.#listener = listener;
    this.#accepting = this.#accept(target);
  }

  /** Listens on a free port and forwards to `127.0.0.1:targetPort`. */
  static start(targetPort: number): PausableTcpProxy {
    return new PausableTcpProxy(Deno.listen({ hostname: "127.0.0.1", port: 0 }), targetPort);
  }

  /** The port clients connect to. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** Stops reading from clients (what they send waits in socket buffers). */
  pause(): void {
    this.#paused ??= Promise.withResolvers<void>();
  }

  /** Lets client traffic flow again. */
  resume(): void {
    this.#paused?.resolve();
    this.#paused = undefined;
  }

  async #accept(target: number): Promise<void> {
    try {
      for await (const client of this.#listener) {
        const server = await Deno.connect({ hostname: "127.0.0.1", port: target });
        this.#conns.add(client);
        this.#conns.add(server);
        const close = () => this.#close(client, server);
        void this.#pipe(client, server, true).finally(close);
        void this.#pipe(server, client, false).finally(close);
      }
    } catch {
      // listener closed
    }
  }

  async #pipe(from: Deno.Conn, to: Deno.Conn, uplink: boolean): Promise<void> {
    const buffer = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        while (uplink && this.#paused) await this.#paused.promise;
        const n = await from.read(buffer);
        if (n === null) return;
        for (let at = 0; at < n;) at += await to.write(buffer.subarray(at, n));
      }
    } catch {
      // either side closed
    }
  }

  #close(...conns: Deno.Conn[]): void {
    for (const conn of conns) {
      if (!this.#conns.delete(conn)) continue;
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.resume();
    this.#listener.close();
    this.#close(...this.#conns);
    await this.#accepting;
  }
}
