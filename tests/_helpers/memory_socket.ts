/**
 * An in-memory {@linkcode DatagramSocket} for driving a `PeerEndpoint` by hand: the test
 * injects datagrams "from" any address and reads what the endpoint sent. With a
 * `ManualClock`, a test runs an endpoint in virtual time with no socket at all.
 *
 * @module
 */

import type { Datagram, DatagramSocket, PeerAddr } from "../../p2p/udp_socket.ts";
import {
  DATA_ACK_NOW,
  decodePacket,
  isPlainDatagram,
  type Packet,
  packetIdHex,
  PacketType,
} from "../../p2p/packet.ts";

/** A datagram the endpoint sent. */
export interface SentDatagram {
  bytes: Uint8Array;
  /** Its type, from the header (sealed datagrams show only that). */
  type: Packet["type"];
  /** Its transfer or chat id, hex. */
  id: string;
  /** The packet, for the types sent in clear (START, REFUSE); sealed ones stay sealed. */
  packet: Packet | undefined;
  to: PeerAddr;
}

const TYPE_NAMES = new Map<number, Packet["type"]>([
  ...Object.entries(PacketType).map(([name, code]) => [code, name as Packet["type"]] as const),
  [DATA_ACK_NOW, "data"],
]);

/** A socket whose traffic is arrays in memory. */
export class MemorySocket implements DatagramSocket {
  readonly addr: PeerAddr;
  /** Everything the endpoint sent, oldest first. */
  readonly sent: SentDatagram[] = [];
  readonly #inbox: Datagram[] = [];
  #wake: (() => void) | undefined;
  #closed = false;

  /** @param port the port the socket pretends to be bound to. */
  constructor(port = 40_000) {
    this.addr = { hostname: "127.0.0.1", port };
  }

  send(bytes: Uint8Array, to: PeerAddr): Promise<void> {
    const copy = bytes.slice();
    const type = TYPE_NAMES.get(copy[1]!);
    if (type === undefined) throw new Error(`the endpoint sent a datagram of type ${copy[1]}`);
    const packet = isPlainDatagram(copy) ? decodePacket(copy) : undefined;
    this.sent.push({ bytes: copy, type, id: packetIdHex(copy), packet, to });
    return Promise.resolve();
  }

  /** Queues a datagram for the endpoint, as if `from` had sent it. */
  inject(bytes: Uint8Array, from: PeerAddr): void {
    this.#inbox.push({ bytes: bytes.slice(), from });
    this.#wake?.();
  }

  async receive(): Promise<Datagram | undefined> {
    while (this.#inbox.length === 0 && !this.#closed) {
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
    return this.#inbox.shift();
  }

  close(): void {
    this.#closed = true;
    this.#wake?.();
  }
}
