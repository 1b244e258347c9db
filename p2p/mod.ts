/**
 * Peer-to-peer UDP file transport (UVF) and private-chat channel of iotnet.
 *
 * A {@linkcode PeerEndpoint} owns one UDP socket and runs any number of transfers in both
 * directions at once: sequence-numbered DATA datagrams within a configurable payload
 * size, a sliding window with selective acknowledgements, RFC 6298 retransmission
 * timing, AIMD congestion control with pacing, FIN/FIN_ACK with a whole-file SHA-256,
 * and streaming through bounded buffers on both ends. Peers are admitted only with a
 * one-time ticket the server signed under the receiver's key ({@linkcode signTicket}).
 * Private-chat messages are authenticated per datagram under keys derived from a secret
 * the server gives both ends of the chat (`PeerEndpoint.openChat`).
 *
 * The protocol cores ({@linkcode SenderCore}, {@linkcode ReceiverCore}) are sans-I/O;
 * `docs/P2P.md` describes packet layouts, state machines, timers and limits.
 *
 * @example
 * ```ts ignore
 * import { newTicketKey, newTransferId, PeerEndpoint, signTicket } from "./mod.ts";
 * const bobKey = newTicketKey(); // the server's per-device key for bob
 * const bob = await PeerEndpoint.open({ receiveDir: "/tmp/bob" });
 * bob.setTicketKey(bobKey, "bob");
 * const alice = await PeerEndpoint.open({ receiveDir: "/tmp/alice" });
 * const ticket = await signTicket(bobKey, {
 *   kind: "file", transferId: newTransferId(), from: "alice", to: "bob",
 *   filename: "data.txt", size: (await Deno.stat("data.txt")).size,
 *   expiresAt: Date.now() + 60_000,
 * });
 * await alice.sendFile({ to: { hostname: "127.0.0.1", port: bob.port }, path: "data.txt", ticket });
 * ```
 *
 * @module
 */

export { PeerEndpoint } from "./endpoint.ts";
export type {
  EndpointStats,
  PeerEndpointOptions,
  SendFileOptions,
  SendFileResult,
} from "./endpoint.ts";
export { PeerEvents } from "./events.ts";
export type {
  ChatEvent,
  FileEvent,
  FileFailedEvent,
  FileStartedEvent,
  PeerEventMap,
} from "./events.ts";
export {
  AbortCode,
  IntegrityError,
  PeerUnreachableError,
  ReceiverStorageError,
  TransferAbortedError,
  TransferError,
  TransferRejectedError,
} from "./errors.ts";
export type { AbortReason } from "./errors.ts";
export {
  decodeTicket,
  encodeTicket,
  MalformedTicketError,
  newTicketKey,
  newTransferId,
  signTicket,
  TICKET_KEY_BYTES,
  verifyTicket,
} from "./ticket.ts";
export type { FileTicket, SignedTicket, Ticket } from "./ticket.ts";
export { CHAT_SECRET_BYTES } from "./chat_keys.ts";
export { safeFileName, storedFileName } from "./safe_file_name.ts";
export {
  DEFAULT_LIMITS,
  MAX_CHAT_TEXT_BYTES,
  MAX_FILE_NAME_BYTES,
  MAX_PAYLOAD_BYTES,
  MIN_PAYLOAD_BYTES,
  resolveLimits,
} from "./limits.ts";
export type { P2pLimits } from "./limits.ts";
export { SenderCore } from "./sender.ts";
export type { SenderOptions, SenderState, SenderStats } from "./sender.ts";
export { ReceiverCore } from "./receiver.ts";
export type { ReceiverOptions, ReceiverState, ReceiverStats } from "./receiver.ts";
export { decodePacket, encodePacket, MalformedPacketError } from "./packet.ts";
export type { Packet } from "./packet.ts";
export { openUdpSocket } from "./udp_socket.ts";
export type { Datagram, DatagramSocket, PeerAddr } from "./udp_socket.ts";
