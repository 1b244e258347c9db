/**
 * The sending side of one file transfer: the I/O shell of a {@linkcode SenderCore}. It
 * hands the core the endpoint's datagrams, its {@linkcode TransferTimer}'s expiries and
 * the file's bytes, and carries out the core's actions: datagrams, block reads of the
 * file, throttled progress callbacks and the promise {@linkcode PeerEndpoint.sendFile}
 * waits on.
 *
 * @module
 */

import { type Clock, type Deferred, deferred } from "../internal/mod.ts";
import { type AbortReason, TransferAbortedError, type TransferError } from "./errors.ts";
import { SEALED_TICKET_BYTES, TRANSFER_REPLAY_WINDOW } from "./limits.ts";
import {
  dataDatagramBytes,
  hexToId,
  isPlainDatagram,
  type Packet,
  SEAL_OVERHEAD_BYTES,
  wireDataBytes,
} from "./packet.ts";
import {
  type PacketOpener,
  type PacketSealer,
  PEER_SECRET_BYTES,
  peerProtection,
} from "./packet_protection.ts";
import { SenderCore } from "./sender.ts";
import { BlockReader } from "./storage.ts";
import { type FileTicket, fromBase64, type SealedTicket, toHex } from "./ticket.ts";
import type { TransferHost } from "./transfer_host.ts";
import { TransferTimer } from "./transfer_timer.ts";
import { addrKey, type PeerAddr } from "./udp_socket.ts";

/** Arguments of {@linkcode PeerEndpoint.sendFile}. */
export interface SendFileOptions {
  /** The receiving endpoint's UDP address. */
  to: PeerAddr;
  /** Local file to send. */
  path: string;
  /** The file ticket from the server (sealed for the receiver) and the transfer's secret. */
  ticket: SealedTicket<FileTicket>;
  /** Called as the receiver acknowledges bytes (throttled). */
  onProgress?: (sentBytes: number, totalBytes: number) => void;
  /** Cancels the transfer; the receiver is told and keeps nothing. */
  signal?: AbortSignal;
}

/** What {@linkcode PeerEndpoint.sendFile} resolves with. */
export interface SendFileResult {
  /** File size. */
  bytes: number;
  /** Lower-case hex SHA-256 the receiver confirmed. */
  sha256: string;
  /** Datagrams sent (START, DATA, FIN, ABORT). */
  datagramsSent: number;
  /** DATA packets sent more than once. */
  retransmits: number;
  /** Retransmission-timer expiries (RFC 6298 §5.4). */
  rtoExpiries: number;
  /** From the start to the receiver's confirmation. */
  ms: number;
}

/** One file being sent. */
export class OutgoingTransfer {
  /** The transfer id (hex). */
  readonly id: string;
  /** The receiving device's name, from the ticket. */
  readonly peer: string;
  /** The transfer id. */
  readonly idBytes: Uint8Array;
  /** The receiver's address (`addrKey`): the only source accepted. */
  readonly toKey: string;
  /** Opens what the receiver sends (its key, its replay window). */
  readonly opener: PacketOpener;
  readonly #sealer: PacketSealer;
  /** Plaintext length of a full DATA packet (the core's datagrams). */
  readonly #dataBytes: number;
  /**
   * Where sends are sealed: a ring, so a send the socket had to defer still finds its
   * bytes for a while (if not, it sends other sealed datagrams, dropped as repeats).
   */
  readonly #sealed: Uint8Array;
  #sealedAt = 0;
  readonly #core: SenderCore;
  readonly #to: PeerAddr;
  readonly #host: TransferHost;
  readonly #clock: Clock;
  readonly #reader: BlockReader;
  /** Reused read buffer (the core copies what is pushed). */
  readonly #readBuffer: Uint8Array;
  readonly #size: number;
  readonly #result: Deferred<SendFileResult> = deferred<SendFileResult>();
  readonly #startedAt: number;
  readonly #onProgress: ((sent: number, total: number) => void) | undefined;
  #progressAt = 0;
  #progressBytes = -1;
  readonly #timer: TransferTimer;

  /**
   * Opens the file and checks its size against the ticket.
   *
   * @param host the endpoint.
   * @param options destination, file path, ticket and progress callback.
   * @returns the transfer, not yet started ({@linkcode OutgoingTransfer.run}).
   * @throws {TransferAbortedError} (reason `local_io`) when the file cannot be read or
   * its size is not the ticket's.
   * @throws {TypeError} when the sealed ticket or the secret is not what the server gives.
   */
  static async open(host: TransferHost, options: SendFileOptions): Promise<OutgoingTransfer> {
    const ticket = options.ticket.ticket;
    checkSealedTicket(options.ticket);
    let opened: { reader: BlockReader; size: number };
    try {
      opened = await BlockReader.open(options.path);
    } catch (e) {
      throw new TransferAbortedError(
        "local_io",
        `cannot read ${options.path}: ${
          e instanceof Error ? e.message : e
        }; check the file exists and is readable`,
        { cause: e },
      );
    }
    if (opened.size !== ticket.size) {
      opened.reader.close();
      throw new TransferAbortedError(
        "local_io",
        `${options.path} is ${opened.size} bytes but the ticket says ${ticket.size}; ask for a new ticket`,
      );
    }
    return new OutgoingTransfer(host, options, opened.reader);
  }

  private constructor(host: TransferHost, options: SendFileOptions, reader: BlockReader) {
    const ticket = options.ticket.ticket;
    const now = host.clock.now();
    const idBytes = hexToId(ticket.transferId);
    this.#host = host;
    this.#clock = host.clock;
    this.id = ticket.transferId;
    this.peer = ticket.to;
    this.idBytes = idBytes;
    const protection = peerProtection(host.aead, {
      secret: fromBase64(options.ticket.secret),
      id: idBytes,
      purpose: "iotnet-uvf-v4",
      me: ticket.from,
      peer: ticket.to,
      windowSize: TRANSFER_REPLAY_WINDOW,
    });
    this.opener = protection.opener;
    this.#sealer = protection.sealer;
    this.#dataBytes = dataDatagramBytes(host.limits.payloadBytes);
    this.#sealed = new Uint8Array(
      (host.limits.maxCwndPackets + host.limits.segmentsPerSend) *
        wireDataBytes(host.limits.payloadBytes),
    );
    this.#core = new SenderCore({
      id: idBytes,
      sealedTicket: fromBase64(options.ticket.sealed),
      size: ticket.size,
      limits: host.limits,
      now,
    });
    this.#to = options.to;
    this.toKey = addrKey(options.to);
    this.#reader = reader;
    this.#readBuffer = new Uint8Array(Math.min(host.limits.readBlockBytes, ticket.size));
    this.#size = ticket.size;
    this.#startedAt = now;
    this.#onProgress = options.onProgress;
    this.#timer = new TransferTimer(this.#clock, () => {
      this.#core.handleTimeout(this.#clock.now());
      this.#drive();
    });
  }

  /** Whether the transfer has ended (succeeded or failed). */
  get ended(): boolean {
    return this.#core.ended;
  }

  /**
   * Starts sending and waits until the receiver has verified and stored the file.
   *
   * @param signal cancels the transfer.
   * @returns size, SHA-256, datagram counts and duration.
   */
  async run(signal: AbortSignal | undefined): Promise<SendFileResult> {
    const onAbort = () =>
      this.cancel(
        "cancelled",
        new TransferAbortedError("cancelled", "transfer cancelled by the caller"),
      );
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#drive();
    try {
      return await this.#result.promise;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Takes a datagram from the receiver (decoded, matched to this transfer and its
   * address).
   *
   * @param packet the packet.
   * @param now the current time.
   */
  handle(packet: Packet, now: number): void {
    if (packet.type === "refuse") {
      // In clear, so anyone could send one: heeded only before the receiver has spoken
      // under the transfer's keys.
      if (this.#core.state !== "starting") return;
      this.#core.handle({ ...packet, type: "abort" }, now);
    } else {
      this.#core.handle(packet, now);
    }
    this.#drive();
  }

  /**
   * Ends the transfer from this side; an ABORT with `reason` tells the receiver.
   *
   * @param reason the wire reason.
   * @param error what `sendFile` rejects with.
   * @param text what the receiver is told.
   */
  cancel(reason: AbortReason, error: TransferError, text?: string): void {
    this.#core.cancel(reason, error, text);
    this.#drive();
  }

  /** Carries out what the core wants done, until it waits. */
  #drive(): void {
    const core = this.#core;
    const now = this.#clock.now();
    // Before polling: the callback (the caller's code) runs outside the loop.
    if (!core.ended) this.#progress(now, false);
    const segments = this.#host.segmentsPerSend();
    for (;;) {
      const action = core.poll(now, segments);
      switch (action.type) {
        case "send":
          // A closed endpoint has no socket and no AEAD left: nothing to seal or send.
          if (this.#host.isClosed()) break;
          this.#host.send(this.#seal(action.bytes, action.datagrams), this.#to, action.datagrams);
          if (action.retransmissions > 0) this.#host.countRetransmits(action.retransmissions);
          break;
        case "read":
          this.#host.track(this.#read(action.bytes));
          break;
        case "complete":
          this.#end(now);
          this.#progress(now, true);
          this.#result.resolve({
            bytes: this.#size,
            sha256: toHex(action.sha256),
            datagramsSent: core.stats.datagramsSent,
            retransmits: core.stats.retransmits,
            rtoExpiries: core.stats.rtoExpiries,
            ms: now - this.#startedAt,
          });
          break;
        case "fail":
          this.#end(now);
          this.#progress(now, false);
          this.#result.reject(action.error);
          break;
        case "wait":
          if (!core.ended && !this.#host.isClosed()) this.#timer.arm(action.until);
          return;
      }
    }
  }

  /** The core's datagrams sealed, each under the next packet number (START stays plain). */
  #seal(bytes: Uint8Array, datagrams: number): Uint8Array {
    if (datagrams === 1 && isPlainDatagram(bytes)) return bytes;
    const room = bytes.length + datagrams * SEAL_OVERHEAD_BYTES;
    if (this.#sealedAt + room > this.#sealed.length) this.#sealedAt = 0;
    const out = this.#sealed.subarray(this.#sealedAt, this.#sealedAt + room);
    this.#sealer.sealBatch(bytes, datagrams, this.#dataBytes, out);
    this.#sealedAt += room;
    return out;
  }

  /** Reads the next `bytes` of the file for the core. */
  async #read(bytes: number): Promise<void> {
    const buffer = this.#readBuffer.subarray(0, bytes);
    let got: number;
    try {
      got = await this.#reader.readInto(buffer);
    } catch (e) {
      this.#core.readFailed(
        new TransferAbortedError(
          "local_io",
          `reading the file failed: ${e instanceof Error ? e.message : e}`,
          { cause: e },
        ),
      );
      return this.#drive();
    }
    if (got < bytes) {
      this.#core.readFailed(
        new TransferAbortedError(
          "local_io",
          "the file got shorter while it was being sent; send it again",
        ),
      );
    } else {
      this.#core.push(buffer);
    }
    this.#drive();
  }

  #progress(now: number, force: boolean): void {
    if (!this.#onProgress) return;
    const acked = this.#core.stats.bytesAcked;
    if (acked === this.#progressBytes) return;
    if (!force && acked < this.#size && now - this.#progressAt < 50) return;
    this.#progressAt = now;
    this.#progressBytes = acked;
    try {
      this.#onProgress(acked, this.#size);
    } catch (e) {
      console.error("iotnet p2p: onProgress threw:", e);
    }
  }

  /** The transfer is over: no more timer, file or table entry. */
  #end(now: number): void {
    this.#timer.clear();
    this.#reader.close();
    this.#host.ended(this, now);
  }
}

/** @throws {TypeError} when the server's sealed ticket or secret has the wrong form. */
function checkSealedTicket(given: SealedTicket<FileTicket>): void {
  let sealed: Uint8Array, secret: Uint8Array;
  try {
    sealed = fromBase64(given.sealed);
    secret = fromBase64(given.secret);
  } catch {
    throw new TypeError("the sealed ticket and the secret must be base64");
  }
  if (sealed.length !== SEALED_TICKET_BYTES || secret.length !== PEER_SECRET_BYTES) {
    throw new TypeError(
      `a sealed ticket is ${SEALED_TICKET_BYTES} bytes and a secret ${PEER_SECRET_BYTES}`,
    );
  }
}
