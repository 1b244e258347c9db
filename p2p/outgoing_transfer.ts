/**
 * The sending side of one file transfer: a {@linkcode SenderCore} driven by the
 * endpoint's datagrams and a {@linkcode TransferTimer}, fed by reading the file in blocks,
 * with throttled progress callbacks and the promise {@linkcode PeerEndpoint.sendFile}
 * waits on.
 *
 * @module
 */

import type { Clock } from "../internal/clock.ts";
import { type Deferred, deferred } from "../internal/deferred.ts";
import { TransferAbortedError, TransferError } from "./errors.ts";
import { hexToId } from "./packet.ts";
import { SenderCore } from "./sender.ts";
import { BlockReader } from "./storage.ts";
import { encodeTicket, type FileTicket, fromHex, type SignedTicket, toHex } from "./ticket.ts";
import type { TransferHost } from "./transfer_host.ts";
import { TransferTimer } from "./transfer_timer.ts";
import { addrKey, type PeerAddr } from "./udp_socket.ts";

/** Arguments of {@linkcode PeerEndpoint.sendFile}. */
export interface SendFileOptions {
  /** The receiving endpoint's UDP address. */
  to: PeerAddr;
  /** Local file to send. */
  path: string;
  /** The file ticket from the server (signed under the receiver's key). */
  ticket: SignedTicket<FileTicket>;
  /** Called as the receiver acknowledges bytes (throttled). */
  onProgress?: (sentBytes: number, totalBytes: number) => void;
  /** Cancels the transfer; the receiver is told and keeps nothing. */
  signal?: AbortSignal;
}

/** What {@linkcode PeerEndpoint.sendFile} resolves with. */
export interface SendFileResult {
  bytes: number;
  /** Lower-case hex SHA-256 the receiver confirmed. */
  sha256: string;
  datagramsSent: number;
  retransmits: number;
  /** Retransmission-timer expiries (RFC 6298 §5.4). */
  rtoExpiries: number;
  ms: number;
}

/** One file being sent. */
export class OutgoingTransfer {
  readonly id: string;
  /** The receiving device's name, from the ticket. */
  readonly peer: string;
  readonly idBytes: Uint8Array;
  readonly core: SenderCore;
  readonly toKey: string;
  readonly #to: PeerAddr;
  readonly #host: TransferHost;
  readonly #clock: Clock;
  readonly #reader: BlockReader;
  /** Reused read buffer (the core copies what is pushed). */
  readonly #readBuf: Uint8Array;
  #reading = false;
  readonly #size: number;
  readonly #done: Deferred<SendFileResult> = deferred<SendFileResult>();
  #settled = false;
  readonly #startedAt: number;
  readonly #onProgress: ((sent: number, total: number) => void) | undefined;
  #progressAt = 0;
  #progressBytes = -1;
  readonly #timer: TransferTimer;

  /**
   * Opens the file and checks its size against the ticket.
   *
   * @param host the endpoint.
   * @param o destination, file path, ticket and progress callback.
   * @returns the transfer, not yet started ({@linkcode OutgoingTransfer.run}).
   * @throws {TransferAbortedError} (reason `local_io`) when the file cannot be read or
   * its size is not the ticket's.
   */
  static async open(host: TransferHost, o: SendFileOptions): Promise<OutgoingTransfer> {
    const t = o.ticket.ticket;
    let opened: { reader: BlockReader; size: number };
    try {
      opened = await BlockReader.open(o.path);
    } catch (e) {
      throw new TransferAbortedError(
        "local_io",
        `cannot read ${o.path}: ${
          e instanceof Error ? e.message : e
        }; check the file exists and is readable`,
        { cause: e },
      );
    }
    if (opened.size !== t.size) {
      opened.reader.close();
      throw new TransferAbortedError(
        "local_io",
        `${o.path} is ${opened.size} bytes but the ticket says ${t.size}; ask for a new ticket`,
      );
    }
    return new OutgoingTransfer(host, o, opened.reader);
  }

  private constructor(host: TransferHost, o: SendFileOptions, reader: BlockReader) {
    const t = o.ticket.ticket;
    const now = host.clock.now();
    const idBytes = hexToId(t.transferId);
    this.#host = host;
    this.#clock = host.clock;
    this.id = t.transferId;
    this.peer = t.to;
    this.idBytes = idBytes;
    this.core = new SenderCore({
      id: idBytes,
      ticket: encodeTicket(t),
      mac: fromHex(o.ticket.mac),
      size: t.size,
      limits: host.limits,
      now,
    });
    this.#to = o.to;
    this.toKey = addrKey(o.to);
    this.#reader = reader;
    this.#readBuf = new Uint8Array(Math.min(host.limits.readBlockBytes, t.size));
    this.#size = t.size;
    this.#startedAt = now;
    this.#onProgress = o.onProgress;
    this.#timer = new TransferTimer(this.#clock, () => {
      this.core.handleTimeout(this.#clock.now());
      this.service();
    });
  }

  /**
   * Starts sending and waits until the receiver has verified and stored the file.
   *
   * @param signal cancels the transfer.
   * @returns size, SHA-256, datagram counts and duration.
   */
  async run(signal: AbortSignal | undefined): Promise<SendFileResult> {
    const onAbort = () => {
      this.core.cancel(
        "cancelled",
        new TransferAbortedError("cancelled", "transfer cancelled by the caller"),
      );
      this.service();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    this.service();
    try {
      return await this.#done.promise;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Acts on the core's state after it took a datagram, a timeout or file bytes: reads
   * more of the file, sends what the core has to send, reports progress, settles the
   * transfer once it ended, and arms the timer.
   */
  service(): void {
    const core = this.core;
    const now = this.#clock.now();
    if (!this.#reading && core.wantBytes() > 0) this.#host.track(this.#readLoop());
    let d: Uint8Array | undefined;
    const before = core.stats.retransmits;
    const segs = this.#host.segmentsPerSend();
    let sent = core.stats.datagramsSent;
    while ((d = core.pollTransmit(now, segs))) {
      this.#host.send(d, this.#to, core.stats.datagramsSent - sent);
      sent = core.stats.datagramsSent;
    }
    this.#host.countRetransmits(core.stats.retransmits - before);
    this.#progress(now, false);
    if (core.ended) return this.#finish(now);
    if (!this.#host.isClosed()) this.#timer.arm(core.pollTimeout(now));
  }

  #progress(now: number, force: boolean): void {
    if (!this.#onProgress) return;
    const acked = this.core.stats.bytesAcked;
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

  async #readLoop(): Promise<void> {
    this.#reading = true;
    try {
      let want: number;
      while ((want = this.core.wantBytes()) > 0 && !this.core.ended) {
        const n = Math.min(want, this.#readBuf.length);
        let got: number;
        try {
          got = await this.#reader.readInto(this.#readBuf.subarray(0, n));
        } catch (e) {
          this.core.cancel(
            "cancelled",
            new TransferAbortedError(
              "local_io",
              `reading the file failed: ${e instanceof Error ? e.message : e}`,
              {
                cause: e,
              },
            ),
          );
          break;
        }
        if (this.core.ended) break;
        if (got < n) {
          this.core.cancel(
            "cancelled",
            new TransferAbortedError(
              "local_io",
              "the file got shorter while it was being sent; send it again",
            ),
          );
          break;
        }
        this.core.push(this.#readBuf.subarray(0, n));
        this.service();
      }
    } finally {
      this.#reading = false;
    }
    this.service();
  }

  #finish(now: number): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#timer.clear();
    this.#reader.close();
    this.#host.ended(this, now);
    const core = this.core;
    if (core.state === "done") {
      this.#progress(now, true);
      this.#done.resolve({
        bytes: this.#size,
        sha256: toHex(core.sha256!),
        datagramsSent: core.stats.datagramsSent,
        retransmits: core.stats.retransmits,
        rtoExpiries: core.stats.rtoExpiries,
        ms: now - this.#startedAt,
      });
    } else {
      this.#done.reject(core.error ?? new TransferError("protocol", "transfer failed"));
    }
  }
}
