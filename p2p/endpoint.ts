/**
 * The UVF driver: ties sender and receiver cores to one {@linkcode DatagramSocket}, the
 * file system and a {@linkcode Clock}. It demultiplexes datagrams by transfer id and
 * source address, admits new transfers and chats by ticket and enforces the
 * anti-amplification budget. Each transfer runs its own timer and file I/O: reading
 * files in blocks on the sending side (`outgoing_transfer.ts`) and writing them through
 * a temporary file on the receiving side (`incoming_transfer.ts`); they reach the
 * endpoint through a {@linkcode TransferHost}.
 *
 * @module
 */

import { type Clock, systemClock } from "../internal/mod.ts";
import { AmplificationLimiter } from "./amplification.ts";
import { ChatChannel, type ChatIntroduction } from "./chat_channel.ts";
import { AbortCode, type AbortReason, TransferAbortedError } from "./errors.ts";
import { type PeerEventMap, PeerEvents } from "./events.ts";
import { IncomingTransfer } from "./incoming_transfer.ts";
import { MAX_PAYLOAD_BYTES, type P2pLimits, resolveLimits } from "./limits.ts";
import {
  OutgoingTransfer,
  type SendFileOptions,
  type SendFileResult,
} from "./outgoing_transfer.ts";
import {
  dataAsksAckNow,
  dataDatagramBytes,
  dataPayload,
  dataSeq,
  decodePacket,
  encodePacket,
  hasPacketId,
  idToHex,
  isDataDatagram,
  MalformedPacketError,
  type Packet,
  packetIdHex,
  packetLength,
  type StartPacket,
} from "./packet.ts";
import { removeStaleParts } from "./storage.ts";
import type { FileTicket } from "./ticket.ts";
import { TicketGuard } from "./ticket_guard.ts";
import type { TransferHost } from "./transfer_host.ts";
import { addrKey, type DatagramSocket, openUdpSocket, type PeerAddr } from "./udp_socket.ts";

/** Options of {@linkcode PeerEndpoint.open}. */
export interface PeerEndpointOptions {
  /** Local address to bind (default `127.0.0.1`). */
  hostname?: string;
  /** Local UDP port; `0` (default) picks a free one. */
  port?: number;
  /** Folder where received files are stored. */
  receiveDir: string;
  /**
   * Names a received file must not take even when free (the edge passes its own data
   * files' names); a numbered name is used instead. Default: none.
   */
  reservedName?: (name: string) => boolean;
  /** Time source (default: the system clock). */
  clock?: Clock;
  /** Limit overrides. */
  limits?: Partial<P2pLimits>;
  /** This device's name (tickets must name it as `to`); can also come with the key. */
  deviceName?: string;
  /** A socket to use instead of opening one (tests). */
  socket?: DatagramSocket;
}

/** Counters of an endpoint. */
export interface EndpointStats {
  /** Datagrams dropped: malformed, unknown transfer, wrong source, bad ticket, ... */
  dropped: number;
  /** Of those, undecodable. */
  malformed: number;
  /** Of those, STARTs or CHATs refused by the ticket check. */
  rejected: number;
  /** Datagrams received. */
  datagramsIn: number;
  /** Datagrams sent. */
  datagramsOut: number;
  /** Socket reads (fewer than `datagramsIn` when the kernel coalesces received datagrams). */
  reads: number;
  /** Socket sends (fewer than `datagramsOut` with segmentation offload). */
  sends: number;
  /** Bytes received. */
  bytesIn: number;
  /** Bytes sent. */
  bytesOut: number;
  /** Retransmitted DATA datagrams over all sends. */
  retransmits: number;
}

/** How long finished transfer ids stay known so late datagrams are not counted as stray. */
const FINISHED_MEMORY_MS = 30_000;

/**
 * A UDP endpoint for peer file transfers and private-chat messages.
 *
 * @example An endpoint on a free port that admits transfers to "bob" (a full transfer is in `mod.ts`)
 * ```ts
 * import assert from "node:assert/strict";
 * import { PeerEndpoint } from "./endpoint.ts";
 * import { newTicketKey } from "./ticket.ts";
 *
 * const receiveDir = await Deno.makeTempDir();
 * const endpoint = await PeerEndpoint.open({ hostname: "127.0.0.1", port: 0, receiveDir });
 * endpoint.setTicketKey(newTicketKey(), "bob"); // the key the server gave bob at login
 * const stop = endpoint.on("file", (event) => console.log(`${event.from} sent ${event.path}`));
 * assert.ok(endpoint.port > 0);
 * stop();
 * await endpoint.close();
 * await Deno.remove(receiveDir);
 * ```
 */
export class PeerEndpoint {
  #socket: DatagramSocket;
  #clock: Clock;
  #limits: P2pLimits;
  #receiveDir: string;
  #reservedName: (name: string) => boolean;
  #guard = new TicketGuard();
  #chat: ChatChannel;
  #limiter: AmplificationLimiter;
  #outgoing = new Map<string, OutgoingTransfer>();
  /** Transfer ids whose file is being opened: not yet in `#outgoing`, but taken. */
  #opening = new Set<string>();
  #incoming = new Map<string, IncomingTransfer>();
  #finished = new Map<string, number>();
  /** Devices this one blocked → tickets with them expiring by then are refused. */
  #blocked = new Map<string, number>();
  #deviceName: string | undefined;
  #closed = false;
  #loop: Promise<void>;
  #cleanups = new Set<Promise<unknown>>();
  /** The transfers that got the last DATA / ACK: the per-datagram fast path. */
  #lastIn: IncomingTransfer | undefined;
  #lastOut: OutgoingTransfer | undefined;
  #lastFrom: PeerAddr | undefined;
  #lastFromKey = "";
  #coalesced: boolean;
  /** What the transfers see of this endpoint. */
  #transfers: TransferHost;
  #onSendError = (e: unknown) => {
    if (!this.#closed) console.error("iotnet p2p: send failed:", e);
  };
  /** Subscribe here or through {@linkcode PeerEndpoint.on}. */
  readonly events: PeerEvents = new PeerEvents();
  /** Counters. */
  readonly stats: EndpointStats = {
    dropped: 0,
    malformed: 0,
    rejected: 0,
    datagramsIn: 0,
    datagramsOut: 0,
    reads: 0,
    sends: 0,
    bytesIn: 0,
    bytesOut: 0,
    retransmits: 0,
  };

  private constructor(
    socket: DatagramSocket,
    options: PeerEndpointOptions,
    limits: P2pLimits,
  ) {
    this.#socket = socket;
    this.#coalesced = socket.coalesced === true;
    this.#clock = options.clock ?? systemClock;
    this.#limits = limits;
    this.#receiveDir = options.receiveDir;
    this.#reservedName = options.reservedName ?? (() => false);
    this.#limiter = new AmplificationLimiter(3);
    this.#chat = new ChatChannel({
      clock: this.#clock,
      limits,
      send: (bytes, to) => this.#send(bytes, to),
      drop: (rejected) => {
        if (rejected) this.stats.rejected++;
        this.#drop();
      },
      deliver: (event) => this.events.emit("chat", event),
    });
    this.#transfers = {
      clock: this.#clock,
      limits,
      isClosed: () => this.#closed,
      send: (bytes, to, datagrams) => this.#send(bytes, to, datagrams),
      segmentsPerSend: () => this.#segmentsPerSend(),
      countRetransmits: (n) => {
        this.stats.retransmits += n;
      },
      track: (work) => this.#track(work),
      emit: (type, e) => this.events.emit(type, e),
      ended: (transfer, now) => this.#ended(transfer, now),
    };
    if (options.deviceName !== undefined) this.#deviceName = options.deviceName;
    this.#loop = this.#receiveLoop();
  }

  /**
   * Opens an endpoint on a UDP socket.
   *
   * @param options address, receive folder, clock and limits.
   * @returns the endpoint, already receiving.
   * @throws {RangeError} for out-of-range limits.
   * @throws {Deno.errors.AddrInUse} when the port is taken.
   */
  static async open(options: PeerEndpointOptions): Promise<PeerEndpoint> {
    const limits = resolveLimits(options.limits);
    const clock = options.clock ?? systemClock;
    await removeStaleParts(options.receiveDir, limits.stallTimeoutMs, clock.now());
    const socket = options.socket ??
      openUdpSocket(options.hostname ?? "127.0.0.1", options.port ?? 0, {
        // Every datagram we send is at most a full DATA datagram, so the kernel may split
        // batches of them at exactly that size.
        ...(limits.segmentsPerSend > 1
          ? { segmentBytes: dataDatagramBytes(limits.payloadBytes) }
          : {}),
        receiveBufferBytes: limits.socketBufferBytes,
        sendBufferBytes: limits.socketBufferBytes,
        coalesceReceive: limits.segmentsPerSend > 1,
      });
    return new PeerEndpoint(socket, options, limits);
  }

  /** The bound UDP port. */
  get port(): number {
    return this.#socket.addr.port;
  }
  /** The bound address. */
  get addr(): PeerAddr {
    return this.#socket.addr;
  }
  /** The effective limits. */
  get limits(): Readonly<P2pLimits> {
    return this.#limits;
  }

  /**
   * Sets this device's ticket key (given by the server at login). Until then every
   * START is refused.
   *
   * @param key the 32-byte key.
   * @param deviceName this device's name; when known, tickets must name it as `to`.
   */
  setTicketKey(key: Uint8Array, deviceName?: string): void {
    if (deviceName !== undefined) this.#deviceName = deviceName;
    this.#guard.setIdentity(key, this.#deviceName);
  }

  /**
   * Subscribes to an event: `file_started`, `file`, `file_failed`, `chat`.
   *
   * @returns a function that unsubscribes.
   */
  on<K extends keyof PeerEventMap>(type: K, fn: (e: PeerEventMap[K]) => void): () => void {
    return this.events.on(type, fn);
  }

  // ---------------------------------------------------------------- datagram path

  async #receiveLoop(): Promise<void> {
    for (;;) {
      const datagram = await this.#socket.receive();
      if (!datagram) return;
      this.stats.reads++;
      try {
        if (this.#coalesced) this.#onCoalesced(datagram.bytes, datagram.from);
        else this.#onDatagram(datagram.bytes, datagram.from);
      } catch (e) {
        // A bug on one datagram must not take the endpoint down.
        this.stats.dropped++;
        console.error("iotnet p2p: datagram handling failed:", e);
      }
    }
  }

  /**
   * Splits a coalesced read: datagrams of one sender back to back, all as long as the
   * first except a shorter last one (the kernel's receive-coalescing contract).
   */
  #onCoalesced(bytes: Uint8Array, from: PeerAddr): void {
    let size = packetLength(bytes);
    if (size === undefined && isDataDatagram(bytes)) {
      const last = this.#lastIn;
      const inc = last !== undefined && hasPacketId(bytes, last.idBytes)
        ? last
        : this.#incoming.get(packetIdHex(bytes));
      size = inc?.dataBytes;
    }
    if (size === undefined || size <= 0 || size >= bytes.length) {
      return this.#onDatagram(bytes, from);
    }
    for (let off = 0; off < bytes.length; off += size) {
      this.#onDatagram(bytes.subarray(off, Math.min(off + size, bytes.length)), from);
    }
  }

  #send(bytes: Uint8Array, to: PeerAddr, datagrams = 1): void {
    this.stats.datagramsOut += datagrams;
    this.stats.sends++;
    this.stats.bytesOut += bytes.length;
    // Not awaited: a send is queued at once; awaiting each would serialise the window.
    this.#socket.send(bytes, to).catch(this.#onSendError);
  }

  #drop(): void {
    this.stats.dropped++;
  }

  #isFinished(id: string, now: number): boolean {
    const finishedAt = this.#finished.get(id);
    return finishedAt !== undefined && now - finishedAt < FINISHED_MEMORY_MS;
  }

  #remember(id: string, now: number): void {
    this.#finished.set(id, now);
    if (this.#finished.size > 1024) {
      for (const [old, finishedAt] of this.#finished) {
        if (now - finishedAt >= FINISHED_MEMORY_MS) this.#finished.delete(old);
      }
    }
  }

  #onDatagram(bytes: Uint8Array, from: PeerAddr): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    // Sockets hand back the same address object for the same peer: key it once.
    if (from !== this.#lastFrom) {
      this.#lastFrom = from;
      this.#lastFromKey = addrKey(from);
    }
    const key = this.#lastFromKey;
    this.stats.datagramsIn++;
    this.stats.bytesIn += bytes.length;
    // Fast path: DATA for the transfer that got the previous DATA, straight from the
    // receive buffer into the core's ring (no decoded object, no copy, no hex id).
    const inc = this.#lastIn;
    if (
      inc !== undefined && isDataDatagram(bytes) && inc.fromKey === key &&
      hasPacketId(bytes, inc.idBytes)
    ) {
      return inc.handleData(dataSeq(bytes), dataPayload(bytes), dataAsksAckNow(bytes), now);
    }
    let packet: Packet;
    try {
      packet = decodePacket(bytes);
    } catch (e) {
      if (!(e instanceof MalformedPacketError)) throw e;
      this.#limiter.received(key, bytes.length);
      this.stats.malformed++;
      this.#drop();
      return;
    }
    // Hex ids are map keys; an ACK for the last outgoing transfer needs none.
    const id = packet.type === "ack" && this.#lastOut !== undefined &&
        hasPacketId(bytes, this.#lastOut.idBytes)
      ? this.#lastOut.id
      : idToHex(packet.id);
    switch (packet.type) {
      case "start": {
        const inc = this.#incoming.get(id);
        if (inc) {
          if (inc.fromKey !== key) return this.#drop();
          if (inc.ended) {
            // The transfer is over (lingering): a START now is a replay of a used ticket.
            this.#limiter.received(key, bytes.length);
            this.stats.rejected++;
            this.#drop();
            return this.#refuse(packet.id, from, key, "replayed", "ticket already used");
          }
          return inc.handle(packet, now);
        }
        this.#limiter.received(key, bytes.length);
        return this.#admit(packet, id, from, key, now);
      }
      case "data":
      case "fin": {
        const inc = this.#incoming.get(id);
        if (!inc || inc.fromKey !== key) {
          if (!inc && this.#isFinished(id, now)) return;
          this.#limiter.received(key, bytes.length);
          return this.#drop();
        }
        if (packet.type === "data") this.#lastIn = inc;
        return inc.handle(packet, now);
      }
      case "ack":
      case "fin_ack": {
        const out = this.#outgoing.get(id);
        if (!out || out.toKey !== key) {
          if (!out && this.#isFinished(id, now)) return;
          return this.#drop();
        }
        this.#lastOut = out;
        return out.handle(packet, now);
      }
      case "abort": {
        const out = this.#outgoing.get(id);
        if (out && out.toKey === key) return out.handle(packet, now);
        const inc = this.#incoming.get(id);
        if (inc && inc.fromKey === key) return inc.handle(packet, now);
        if (this.#isFinished(id, now)) return;
        return this.#drop();
      }
      case "chat":
        return this.#chat.onChat(bytes, packet, id, key);
      case "chat_ack":
        return this.#chat.onAck(bytes, packet, id, key);
    }
  }

  /** Sends a refusal to a not-yet-validated address within its amplification budget. */
  #refuse(
    id: Uint8Array,
    to: PeerAddr,
    key: string,
    reason: keyof typeof AbortCode,
    text: string,
  ): void {
    const reply = encodePacket({ type: "abort", id, code: AbortCode[reason], reason: text });
    if (this.#limiter.trySend(key, reply.length)) this.#send(reply, to);
  }

  #admit(start: StartPacket, id: string, from: PeerAddr, key: string, now: number): void {
    if (start.payloadBytes < 64 || start.payloadBytes > MAX_PAYLOAD_BYTES) {
      this.stats.rejected++;
      this.#drop();
      return this.#refuse(start.id, from, key, "protocol", "payload size out of range");
    }
    let active = 0;
    for (const inc of this.#incoming.values()) if (!inc.ended) active++;
    if (active >= this.#limits.maxIncomingTransfers) {
      this.stats.rejected++;
      this.#drop();
      return this.#refuse(start.id, from, key, "busy", "too many transfers at once");
    }
    const admission = this.#guard.admitStart(start, now, (ticket) => this.#refusal(ticket));
    if (!admission.ok) {
      this.stats.rejected++;
      this.#drop();
      // Replays and forgeries get no answer worth amplifying; expiry helps an honest sender.
      return this.#refuse(start.id, from, key, admission.reason, admission.message);
    }
    const inc = new IncomingTransfer(this.#transfers, {
      start,
      id,
      ticket: admission.ticket,
      from,
      fromKey: key,
      receiveDir: this.#receiveDir,
      reservedName: this.#reservedName,
      receiveBufferBytes: this.#socket.receiveBufferBytes,
      now,
    });
    this.#incoming.set(id, inc);
    inc.start();
  }

  /** Why a valid ticket is refused: its sender is blocked, or holds its share of slots. */
  #refusal(ticket: FileTicket): { reason: AbortReason; message: string } | undefined {
    if (this.#isBlockedTicket(ticket.from, ticket.expiresAt)) {
      return { reason: "blocked", message: this.#blockedText(ticket.from) };
    }
    const limit = this.#limits.maxIncomingTransfersPerSender;
    let mine = 0;
    for (const inc of this.#incoming.values()) {
      if (!inc.ended && inc.peer === ticket.from) mine++;
    }
    if (mine < limit) return undefined;
    return {
      reason: "busy",
      message:
        `already receiving ${mine} files from ${ticket.from}, the most one sender may send at once`,
    };
  }

  /** Whether a ticket with `device` expiring at `expiresAt` predates blocking it. */
  #isBlockedTicket(device: string, expiresAt: number): boolean {
    const until = this.#blocked.get(device);
    return until !== undefined && expiresAt <= until;
  }

  #blockedText(device: string): string {
    return `${this.#deviceName ?? "the peer"} has blocked ${device}`;
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.catch((e) => console.error("iotnet p2p:", e)).finally(() =>
      this.#cleanups.delete(tracked)
    );
    this.#cleanups.add(tracked);
  }

  /** Forgets a transfer that is over; its id is remembered for late datagrams. */
  #ended(transfer: IncomingTransfer | OutgoingTransfer, now: number): void {
    if (transfer instanceof IncomingTransfer) {
      this.#incoming.delete(transfer.id);
      if (this.#lastIn === transfer) this.#lastIn = undefined;
    } else {
      this.#outgoing.delete(transfer.id);
      if (this.#lastOut === transfer) this.#lastOut = undefined;
    }
    this.#remember(transfer.id, now);
  }

  // ---------------------------------------------------------------- sending

  /**
   * Sends a file to a peer endpoint and waits until the receiver has verified and
   * stored it.
   *
   * @param options destination, file path, ticket, progress callback and abort signal.
   * @returns size, SHA-256, datagram counts and duration.
   * @throws {TransferRejectedError} the receiver refused the ticket.
   * @throws {ReceiverStorageError} the receiver could not store the file.
   * @throws {PeerUnreachableError} no answer within the give-up time.
   * @throws {TransferAbortedError} cancelled by `signal` (reason `cancelled`), the peer,
   * or a local read error (reason `local_io`).
   * @throws {IntegrityError} the receiver's SHA-256 did not match.
   */
  async sendFile(options: SendFileOptions): Promise<SendFileResult> {
    if (this.#closed) throw new TransferAbortedError("closing", "the endpoint is closed");
    const ticket = options.ticket.ticket;
    if (ticket.kind !== "file") throw new TypeError("sendFile needs a file ticket");
    options.signal?.throwIfAborted();
    if (this.#outgoing.has(ticket.transferId) || this.#opening.has(ticket.transferId)) {
      throw new TypeError(`transfer ${ticket.transferId} is already in progress`);
    }
    this.#opening.add(ticket.transferId);
    let out: OutgoingTransfer;
    try {
      out = await OutgoingTransfer.open(this.#transfers, options);
    } finally {
      this.#opening.delete(ticket.transferId);
    }
    this.#outgoing.set(out.id, out);
    if (this.#closed) {
      // Closed while the file was opening: close() could not see this transfer.
      out.cancel("closing", new TransferAbortedError("closing", "the endpoint was closed"));
    } else if (this.#isBlockedTicket(ticket.to, ticket.expiresAt)) {
      // Blocked while the file was opening: blockPeer() could not see this transfer.
      this.#stopForBlock(out);
    }
    return await out.run(options.signal);
  }

  /** DATA datagrams per send: > 1 only when the socket splits batches at our size. */
  #segmentsPerSend(): number {
    const s = this.#socket;
    if (s.segmentBytes !== dataDatagramBytes(this.#limits.payloadBytes)) return 1;
    return Math.min(this.#limits.segmentsPerSend, s.maxSegments ?? 1);
  }

  // ---------------------------------------------------------------- chat

  /**
   * Opens a private chat the server introduced: messages are then accepted from the
   * partner's address alone, authenticated under keys derived from the chat's secret
   * (see `chat_channel.ts`).
   *
   * @param chat the chat id (32 hex digits), the partner's name and address, the secret.
   * @throws {TypeError} when this device's name is not known yet (`setTicketKey`).
   * @throws {SyntaxError} for a bad chat id; {RangeError} for a secret not 32 bytes.
   */
  openChat(chat: ChatIntroduction): void {
    if (this.#deviceName === undefined) {
      throw new TypeError("openChat needs this device's name: call setTicketKey(key, name) first");
    }
    this.#chat.open(chat, this.#deviceName);
  }

  /**
   * Closes a private chat: its datagrams are dropped from now on and sends in progress
   * fail.
   *
   * @param chatId the chat's id.
   */
  closeChat(chatId: string): void {
    this.#chat.closeChat(chatId);
  }

  /**
   * Sends one private-chat message and waits for the partner's acknowledgement
   * (retransmitting every `chatRetryMs`, up to `chatTries` times).
   *
   * @param chatId an open chat's id.
   * @param text the message, at most `MAX_CHAT_TEXT_BYTES` (400) UTF-8 bytes.
   * @throws {RangeError} when the text is too long.
   * @throws {TransferAbortedError} when the chat is not open or ends meanwhile.
   * @throws {PeerUnreachableError} when no acknowledgement came.
   */
  sendChat(chatId: string, text: string): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new TransferAbortedError("closing", "the endpoint is closed"));
    }
    return this.#chat.send(chatId, text);
  }

  // ---------------------------------------------------------------- blocking

  /**
   * Ends everything with `device`, which this device has just blocked: incoming
   * transfers from it fail and outgoing ones to it are cancelled, both with reason
   * `blocked`, which the other side sees; chats with it are closed; and file tickets with it
   * that the server issued until now (those expiring within `ticketTtlMs`) are refused.
   *
   * @param device the blocked device's name.
   * @param ticketTtlMs the server's file-ticket lifetime.
   */
  blockPeer(device: string, ticketTtlMs: number): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    for (const [name, until] of this.#blocked) if (until < now) this.#blocked.delete(name);
    this.#blocked.set(device, now + ticketTtlMs);
    this.#chat.closePeer(device);
    for (const out of [...this.#outgoing.values()]) {
      if (out.peer === device) this.#stopForBlock(out);
    }
    for (const inc of [...this.#incoming.values()]) {
      if (inc.peer === device && !inc.ended) inc.fail("blocked", this.#blockedText(device));
    }
  }

  #stopForBlock(out: OutgoingTransfer): void {
    out.cancel(
      "blocked",
      new TransferAbortedError("blocked", `stopped sending to ${out.peer}: you blocked it`),
      this.#blockedText(out.peer),
    );
  }

  // ---------------------------------------------------------------- shutdown

  /**
   * Cancels every transfer (peers are told), removes temporary files and closes the
   * socket. Pending `sendFile`/`sendChat` promises reject with reason `closing`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const out of [...this.#outgoing.values()]) {
      out.cancel("closing", new TransferAbortedError("closing", "the endpoint was closed"));
    }
    for (const inc of this.#incoming.values()) {
      inc.fail("closing", "the receiving endpoint was closed");
    }
    this.#chat.close();
    this.#closed = true;
    for (const inc of this.#incoming.values()) inc.stopTimer();
    while (this.#cleanups.size > 0) await Promise.all([...this.#cleanups]);
    for (const inc of this.#incoming.values()) await inc.discardUnlessDone();
    this.#incoming.clear();
    this.#lastIn = undefined;
    this.#lastOut = undefined;
    this.#socket.close();
    await this.#loop;
  }

  /** Same as {@linkcode close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
