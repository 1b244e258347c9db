/**
 * The receiving side of one file transfer: a {@linkcode ReceiverCore} driven by the
 * endpoint's datagrams and a {@linkcode TransferTimer}, with the file written in order
 * through a `.part` temporary file that gets a free final name once the SHA-256 matched
 * (never replacing a file), and the `file_started`, `file` and `file_failed` events.
 *
 * @module
 */

import type { Clock } from "../internal/clock.ts";
import type { FileStartedEvent } from "./events.ts";
import { DATA_HEADER_BYTES, type StartPacket } from "./packet.ts";
import { ReceiverCore } from "./receiver.ts";
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
  readonly id: string;
  /** The sending device's name, from the ticket. */
  readonly peer: string;
  readonly idBytes: Uint8Array;
  /** Length of a full DATA datagram of this transfer. */
  readonly dataBytes: number;
  readonly core: ReceiverCore;
  readonly fromKey: string;
  readonly #from: PeerAddr;
  readonly #host: TransferHost;
  readonly #clock: Clock;
  readonly #ticket: FileTicket;
  readonly #dir: string;
  readonly #name: string;
  readonly #reserved: (name: string) => boolean;
  #part: PartFile | undefined;
  #writing = false;
  #committing = false;
  #reported = false;
  readonly #timer: TransferTimer;

  /**
   * @param host the endpoint.
   * @param o the admitted START and where to store the file.
   */
  constructor(host: TransferHost, o: IncomingTransferOptions) {
    const p = o.start;
    this.#host = host;
    this.#clock = host.clock;
    this.id = o.id;
    this.peer = o.ticket.from;
    this.idBytes = p.id;
    this.dataBytes = DATA_HEADER_BYTES + p.payloadBytes;
    this.core = new ReceiverCore({
      id: p.id,
      size: o.ticket.size,
      payloadBytes: p.payloadBytes,
      limits: host.limits,
      now: o.now,
      kernelWindowPackets: Math.floor(
        (o.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER_BYTES) /
          (DATA_HEADER_BYTES + p.payloadBytes + DATAGRAM_OVERHEAD_BYTES),
      ),
    });
    this.#from = o.from;
    this.fromKey = o.fromKey;
    this.#ticket = o.ticket;
    this.#dir = o.receiveDir;
    this.#name = storedFileName(o.ticket.from, o.ticket.filename);
    this.#reserved = o.reservedName;
    this.#timer = new TransferTimer(this.#clock, () => {
      this.core.handleTimeout(this.#clock.now());
      this.service();
    });
  }

  /** Announces the transfer (`file_started`) and creates its temporary file. */
  open(): void {
    const t = this.#ticket;
    const started: FileStartedEvent = {
      from: t.from,
      filename: t.filename,
      bytes: t.size,
      path: `${this.#dir}/${this.#name}`,
      transferId: this.id,
    };
    this.#host.emit("file_started", started);
    this.#host.track(
      PartFile.create(this.#dir, this.#name, this.id).then(
        async (part) => {
          if (this.core.ended) return await part.discard();
          this.#part = part;
          this.core.opened(this.#clock.now());
          this.service();
        },
        (e) => {
          const f = classifyStorageError(
            e,
            `create a temporary file in the receive folder ${this.#dir}`,
          );
          this.core.fail(f.reason, f.message, this.#clock.now());
          this.service();
        },
      ),
    );
  }

  /**
   * Acts on the core's state after it took a datagram, a timeout or a storage result:
   * starts writing or committing, sends what the core has to send, reports a failure,
   * forgets the transfer once it expired, and arms the timer.
   */
  service(): void {
    const core = this.core;
    const now = this.#clock.now();
    if (core.state === "receiving" || core.state === "committing") {
      if (!this.#writing && core.hasData) this.#host.track(this.#writeLoop());
      if (core.state === "committing" && !this.#committing && !this.#writing && !core.hasData) {
        this.#committing = true;
        this.#host.track(this.#commit());
      }
    }
    let d: Uint8Array | undefined;
    while ((d = core.pollTransmit(now))) this.#host.send(d, this.#from);
    // Reported once nothing writes any more and the part file is gone, so whoever hears
    // of the failure never finds a leftover (the write loop calls back here when done).
    if (core.state === "failed" && !this.#reported && !this.#writing) {
      this.#reported = true;
      const f = core.failure!;
      const report = () =>
        this.#host.emit("file_failed", {
          from: this.#ticket.from,
          filename: this.#ticket.filename,
          reason: f.reason,
          message: f.message,
          transferId: this.id,
        });
      if (this.#part) this.#host.track(this.#part.discard().then(report, report));
      else report();
    }
    if (core.expired(now)) {
      this.#timer.clear();
      this.#host.ended(this, now);
      return;
    }
    if (!this.#host.isClosed()) this.#timer.arm(core.pollTimeout(now));
  }

  /** Cancels the timer (the endpoint is closing). */
  stopTimer(): void {
    this.#timer.clear();
  }

  /** Removes the temporary file unless the file was stored (the endpoint is closing). */
  async discardUnlessDone(): Promise<void> {
    if (this.core.state !== "done") await this.#part?.discard();
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    try {
      // The chunks view the core's receive buffer; they stay valid until consumed().
      while (this.core.hasData && !this.core.ended) {
        const chunks = this.core.takeData();
        try {
          await this.#part!.write(chunks);
        } catch (e) {
          const f = classifyStorageError(e, `write ${this.#part!.tmpPath}`);
          this.core.fail(f.reason, f.message, this.#clock.now());
          break;
        }
        this.core.consumed(chunks.length, this.#clock.now());
        this.service();
      }
    } finally {
      this.#writing = false;
    }
    if (this.core.ended && this.core.state === "failed") await this.#part?.discard();
    this.service();
  }

  async #commit(): Promise<void> {
    const part = this.#part!;
    let path: string;
    try {
      path = await part.commit(this.#reserved);
    } catch (e) {
      const f = classifyStorageError(e, `store ${this.#name} in ${this.#dir}`);
      this.core.fail(f.reason, f.message, this.#clock.now());
      await part.discard();
      this.service();
      return;
    }
    this.core.committed(this.#clock.now());
    this.#host.emit("file", {
      from: this.#ticket.from,
      path,
      bytes: this.#ticket.size,
      sha256: toHex(this.core.sha256!),
      transferId: this.id,
    });
    this.service();
  }
}
