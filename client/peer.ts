/**
 * The edge's UDP peer port. Until the peer transport lands this only binds the port, so
 * the server can register it.
 *
 * @module
 */

/** The bound peer port. */
export interface PeerPort {
  readonly port: number;
  close(): Promise<void>;
}

/** Binds the peer port on 127.0.0.1 (0 = any free port). */
export function openPeerPort(port: number, _dir: string): Promise<PeerPort> {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port, transport: "udp" });
  return Promise.resolve({
    port: (socket.addr as Deno.NetAddr).port,
    close: () => Promise.resolve(socket.close()),
  });
}
