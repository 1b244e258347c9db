/**
 * Peer-to-peer UDP file transport (UVF) and private-chat channel of iotnet.
 *
 * A {@linkcode PeerEndpoint} owns one UDP socket and runs any number of transfers in both
 * directions at once: sequence-numbered DATA datagrams within a configurable payload
 * size, a sliding window with selective acknowledgements, RFC 6298 retransmission
 * timing, AIMD congestion control with pacing, FIN/FIN_ACK with a whole-file SHA-256,
 * and streaming through bounded buffers on both ends. Peers are admitted only with a
 * one-time ticket the server sealed under the receiver's session key
 * ({@linkcode sealTicket}), with a secret for that transfer alone. Every datagram after
 * START, file and private chat alike, is encrypted and authenticated (ChaCha20-Poly1305)
 * under keys derived from the transfer's or chat's secret (`PeerEndpoint.openChat`).
 *
 * What is exported here is what a user of the transport needs: the endpoint, its
 * options, events and errors, and the server's side of admission (ticket keys and
 * sealing, chat ids and secrets). The protocol cores, the codec and the socket adapter
 * are internal; `docs/P2P.md` describes packet layouts, state machines, timers and
 * limits.
 *
 * @example
 * ```ts ignore
 * import { newTicketKey, newTransferId, PeerEndpoint, sealTicket } from "./mod.ts";
 * const bobKey = newTicketKey(); // the server's per-device key for bob
 * const bob = await PeerEndpoint.open({ receiveDir: "/tmp/bob" });
 * bob.setTicketKey(bobKey, "bob");
 * const alice = await PeerEndpoint.open({ receiveDir: "/tmp/alice" });
 * const ticket = sealTicket(bobKey, {
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
export type { EndpointStats, PeerEndpointOptions } from "./endpoint.ts";
export type { SendFileOptions, SendFileResult } from "./outgoing_transfer.ts";
export type { ChatIntroduction } from "./chat_channel.ts";
export type {
  ChatEvent,
  FileEvent,
  FileFailedEvent,
  FileStartedEvent,
  PeerEventMap,
  PeerEvents,
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
export { newTicketKey, newTransferId, sealTicket } from "./ticket.ts";
export type { FileTicket, SealedTicket, Ticket } from "./ticket.ts";
export { newChatId, newChatSecret } from "./chat_keys.ts";
export type { P2pLimits } from "./limits.ts";
export type { Clock, TimerId } from "../internal/clock.ts";
export type { Datagram, DatagramSocket, PeerAddr } from "./udp_socket.ts";
