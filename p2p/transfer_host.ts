/**
 * What a file transfer ({@linkcode IncomingTransfer}, {@linkcode OutgoingTransfer}) needs
 * from the endpoint that runs it: the socket, the clock, the limits, background work,
 * events and the endpoint's table of transfers.
 *
 * @module
 */

import type { Clock } from "../internal/mod.ts";
import type { PeerEventMap } from "./events.ts";
import type { IncomingTransfer } from "./incoming_transfer.ts";
import type { P2pLimits } from "./limits.ts";
import type { OutgoingTransfer } from "./outgoing_transfer.ts";
import type { PeerAddr } from "./udp_socket.ts";

/** The endpoint as its transfers see it. */
export interface TransferHost {
  readonly clock: Clock;
  readonly limits: Readonly<P2pLimits>;
  /** Whether the endpoint is closed (no timer is armed any more). */
  isClosed(): boolean;
  /** Sends `bytes` (`datagrams` back-to-back DATA datagrams with segmentation offload). */
  send(bytes: Uint8Array, to: PeerAddr, datagrams?: number): void;
  /** DATA datagrams per send: > 1 only when the socket splits batches at our size. */
  segmentsPerSend(): number;
  /** Adds to the endpoint's count of retransmitted DATA datagrams. */
  countRetransmits(n: number): void;
  /** Keeps background work (file I/O) to wait for at close; logs its failure. */
  track(work: Promise<unknown>): void;
  /** Delivers an event to the endpoint's listeners. */
  emit<K extends keyof PeerEventMap>(type: K, e: PeerEventMap[K]): void;
  /**
   * Forgets a transfer that is over and remembers its id for a while, so that late
   * datagrams of it are not counted as stray.
   */
  ended(transfer: IncomingTransfer | OutgoingTransfer, now: number): void;
}
