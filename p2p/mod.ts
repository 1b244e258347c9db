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
 * What is exported here is what a user of the transport needs: the endpoint, its
 * options, events and errors, and the server's side of admission (ticket keys and
 * signing, chat ids and secrets). The protocol cores, the codec and the socket adapter
 * are internal; `docs/P2P.md` describes packet layouts, state machines, timers and
 * limits.
 *
 * @example Alice sends bob a file with a ticket the server signed under bob's key
 * ```ts
 * import assert from "node:assert/strict";
 * import { type FileEvent, newTicketKey, newTransferId, PeerEndpoint, signTicket } from "./mod.ts";
 *
 * const [aliceDir, bobDir] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
 * await Deno.writeTextFile(`${aliceDir}/data.txt`, "1\n2\n3\n");
 * const bobKey = newTicketKey(); // the server's per-device key for bob
 * const bob = await PeerEndpoint.open({ hostname: "127.0.0.1", receiveDir: bobDir });
 * bob.setTicketKey(bobKey, "bob");
 * const received = new Promise<FileEvent>((resolve) => bob.on("file", resolve));
 * const alice = await PeerEndpoint.open({ hostname: "127.0.0.1", receiveDir: aliceDir });
 * try {
 *   const ticket = await signTicket(bobKey, {
 *     kind: "file",
 *     transferId: newTransferId(),
 *     from: "alice",
 *     to: "bob",
 *     filename: "data.txt",
 *     size: 6,
 *     expiresAt: Date.now() + 60_000,
 *   });
 *   const to = { hostname: "127.0.0.1", port: bob.port };
 *   const sent = await alice.sendFile({ to, path: `${aliceDir}/data.txt`, ticket });
 *   const file = await received;
 *   assert.equal(file.sha256, sent.sha256);
 *   assert.equal(await Deno.readTextFile(file.path), "1\n2\n3\n");
 * } finally {
 *   await alice.close();
 *   await bob.close();
 *   for (const dir of [aliceDir, bobDir]) await Deno.remove(dir, { recursive: true });
 * }
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
export { newTicketKey, newTransferId, signTicket } from "./ticket.ts";
export type { FileTicket, SignedTicket, Ticket } from "./ticket.ts";
export { newChatId, newChatSecret } from "./chat_keys.ts";
export type { P2pLimits } from "./limits.ts";
export type { Clock, TimerId } from "../internal/mod.ts";
export type { Datagram, DatagramSocket, PeerAddr } from "./udp_socket.ts";
