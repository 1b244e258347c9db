/**
 * The receiving side of one file transfer: the I/O shell of a {@linkcode ReceiverCore}.
 * It hands the core the endpoint's datagrams, its {@linkcode TransferTimer}'s expiries
 * and the outcome of each file operation, and carries out the core's actions: the
 * `.part` temporary file written in order and given a free final name once the SHA-256
 * matched (never replacing a file), datagrams, and the `file_started`, `file` and
 * `file_failed` events.
 *
 * @module
 */

import type { Clock } from "../internal/mod.ts";
import type { FileStartedEvent } from "./events.ts";
import type { AbortReason } from "./errors.ts";
import { TRANSFER_REPLAY_WINDOW } from "./limits.ts";
import { type Packet, type StartPacket, wireDataBytes } from "./packet.ts";
import { type PacketOpener, type PacketSealer, peerProtection } from "./packet_protection.ts";
import { ReceiverCore, type ReceiverFailure } from "./receiver.ts";
import { storedFileName } from "./safe_file_name.ts";
import { classifyStorageError, PartFile } from "./storage.ts";
import { type FileTicket, toHex } from "./ticket.ts";
import type { TransferHost } from "./transfer_host.ts";
import { TransferTimer } from "./transfer_timer.ts";
import type { PeerAddr } from "./udp_socket.ts";

/** Linux's default UDP receive buffer (`net.core.rmem_default`), assumed when unknown. */
const DEFAULT_RECEIVE_BUFFER_BYTES = 212_992;
/**
 * Kernel bytes charged per received datagram beyond its length (skb overhead; Linux
 * charges ≈ 2.3 KB for a 1422-byte datagram, so this errs on the safe side).
 */
const DATAGRAM_OVERHEAD_BYTES = 1422;

/** What {@linkcode IncomingTransfer} is made from: an admitted START. */
export interface IncomingTransferOptions {
  /** The START packet. */
  start: StartPacket;
  /** Its transfer id in hex. */
  id: string;
  /** The ticket the START carried, already admitted. */
  ticket: FileTicket;
  /** The transfer's secret, from the ticket. */
  secret: Uint8Array;
  /** The sender's address and its key (`addrKey`). */
  from: PeerAddr;
  fromKey: string;
  /** Folder where received files are stored. */
  receiveDir: string;
  /** Names the file must not take though free (see `PeerEndpointOptions`). */
  reservedName: (name: string) => boolean;
  /** The socket's receive buffer, when known. */
  receiveBufferBytes: number | undefined;
  now: number;
}

/** One file being received. */
export class IncomingTransfer {
  /** The transfer id (hex). */
  readonly id: string;
  /** The sending device's name, from the ticket. */
  readonly peer: string;
  /** The transfer id. */
  readonly idBytes: Uint8Array;
  /** Length of a full DATA datagram of this transfer on the wire (sealed). */
  readonly dataBytes: number;
  /** Opens what the sender sends (its key, its replay window). */
  readonly opener: PacketOpener;
  readonly #sealer: PacketSealer;
  /** The sender's address (`addrKey`): the only source accepted. */
  readonly fromKey: string;
  readonly #core: ReceiverCore;
  readonly #from: PeerAddr;
  readonly #host: TransferHost;
  readonly #clock: Clock;
  readonly #ticket: FileTicket;
  readonly #dir: string;
  readonly #name: string;
  readonly #reserved: (name: string) => boolean;
  #part: PartFile | undefined;
  /** Where the committed file was stored. */
  #storedPath = "";
  readonly #timer: TransferTimer;

  /**
   * @param host the endpoint.
   * @param options the admitted START and where to store the file.
   */
  constructor(host: TransferHost, options: IncomingTransferOptions) {
    const start = options.start;
    this.#host = host;
    this.#clock = host.clock;
    this.id = options.id;
    this.peer = options.ticket.from;
    this.idBytes = start.id;
    this.dataBytes = wireDataBytes(start.payloadBytes);
    const protection = peerProtection(host.aead, {
      secret: options.secret,
      id: start.id,
      purpose: "iotnet-uvf-v4",
      me: options.ticket.to,
      peer: options.ticket.from,
      windowSize: TRANSFER_REPLAY_WINDOW,
    });
    this.opener = protection.opener;
    this.#sealer = protection.sealer;
    this.#core = new ReceiverCore({
      id: start.id,
      size: options.ticket.size,
      payloadBytes: start.payloadBytes,
      limits: host.limits,
      now: options.now,
      kernelWindowPackets: Math.floor(
        (options.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER_BYTES) /
          (this.dataBytes + DATAGRAM_OVERHEAD_BYTES),
      ),
    });
    this.#from = options.from;
    this.fromKey = options.fromKey;
    this.#ticket = options.ticket;
    this.#dir = options.receiveDir;
    this.#name = storedFileName(options.ticket.from, options.ticket.filename);
    this.#reserved = options.reservedName;
    this.#timer = new TransferTimer(this.#clock, () => {
      this.#core.handleTimeout(this.#clock.now());
      this.#drive();
    });
  }

  /** Whether the transfer has ended (stored or failed); it may linger to answer late FINs. */
  get ended(): boolean {
    return this.#core.ended;
  }

  /** Starts the transfer: announces it (`file_started`) and creates its temporary file. */
  start(): void {
    this.#drive();
  }

  /**
   * Takes a datagram from the sender (opened, decoded, matched to this transfer and its
   * address).
   *
   * @param packet the packet.
   * @param now the current time.
   */
  handle(packet: Packet, now: number): void {
    this.#core.handle(packet, now);
    this.#drive();
  }

  /**
   * Takes a DATA datagram's fields straight from the receive buffer (the fast path).
   *
   * @param seq its sequence number.
   * @param payload its payload (copied).
   * @param ackNow whether it asks for an ACK at once.
   * @param now the current time.
   */
  handleData(seq: number, payload: Uint8Array, ackNow: boolean, now: number): void {
    this.#core.handleData(seq, payload, now, ackNow);
    this.#drive();
  }

  /**
   * Ends the transfer from this side; an ABORT with `reason` tells the sender.
   *
   * @param reason the wire reason.
   * @param message what happened, for the sender and the `file_failed` event.
   */
  fail(reason: AbortReason, message: string): void {
    this.#core.fail(reason, message, this.#clock.now());
    this.#drive();
  }

  /** Cancels the timer (the endpoint is closing). */
  stopTimer(): void {
    this.#timer.clear();
  }

  /** Removes the temporary file unless the file was stored (the endpoint is closing). */
  async discardUnlessDone(): Promise<void> {
    if (this.#core.state !== "done") await this.#part?.discard();
  }

  /** Carries out what the core wants done, until it waits. */
  #drive(): void {
    const now = this.#clock.now();
    for (;;) {
      const action = this.#core.poll(now);
      switch (action.type) {
        case "send":
          // A closed endpoint has no socket and no AEAD left: nothing to seal or send.
          if (!this.#host.isClosed()) {
            this.#host.send(this.#sealer.seal(action.datagram), this.#from);
          }
          break;
        case "open":
          this.#open();
          break;
        case "write":
          this.#host.track(this.#write(action.chunks));
          break;
        case "commit":
          this.#host.track(this.#commit());
          break;
        case "complete":
          this.#host.emit("file", {
            from: this.#ticket.from,
            path: this.#storedPath,
            bytes: this.#ticket.size,
            sha256: toHex(action.sha256),
            transferId: this.id,
          });
          break;
        case "fail":
          this.#reportFailure(action.failure);
          break;
        case "forget":
          this.#timer.clear();
          this.#host.ended(this, now);
          return;
        case "wait":
          if (!this.#host.isClosed()) this.#timer.arm(action.until);
          return;
      }
    }
  }

  #open(): void {
    const ticket = this.#ticket;
    const started: FileStartedEvent = {
      from: ticket.from,
      filename: ticket.filename,
      bytes: ticket.size,
      path: `${this.#dir}/${this.#name}`,
      transferId: this.id,
    };
    this.#host.emit("file_started", started);
    this.#host.track(
      PartFile.create(this.#dir, this.#name, this.id).then(
        (part) => {
          this.#part = part;
          this.#core.opened(this.#clock.now());
          this.#drive();
        },
        (e) => {
          const f = classifyStorageError(
            e,
            `create a temporary file in the receive folder ${this.#dir}`,
          );
          this.#core.fileOperationFailed(f.reason, f.message, this.#clock.now());
          this.#drive();
        },
      ),
    );
  }

  /** Writes `chunks` (views of the core's receive buffer) to the temporary file. */
  async #write(chunks: Uint8Array[]): Promise<void> {
    const part = this.#part!;
    try {
      await part.write(chunks);
    } catch (e) {
      const f = classifyStorageError(e, `write ${part.tmpPath}`);
      this.#core.fileOperationFailed(f.reason, f.message, this.#clock.now());
      return this.#drive();
    }
    this.#core.written(this.#clock.now());
    this.#drive();
  }

  async #commit(): Promise<void> {
    try {
      this.#storedPath = await this.#part!.commit(this.#reserved);
    } catch (e) {
      const f = classifyStorageError(e, `store ${this.#name} in ${this.#dir}`);
      this.#core.fileOperationFailed(f.reason, f.message, this.#clock.now());
      return this.#drive();
    }
    this.#core.committed(this.#clock.now());
    this.#drive();
  }

  /**
   * Removes the temporary file, then reports the failure: whoever hears of it never
   * finds a leftover.
   */
  #reportFailure(failure: ReceiverFailure): void {
    const report = () =>
      this.#host.emit("file_failed", {
        from: this.#ticket.from,
        filename: this.#ticket.filename,
        reason: failure.reason,
        message: failure.message,
        transferId: this.id,
      });
    if (this.#part) this.#host.track(this.#part.discard().then(report, report));
    else report();
  }
}
