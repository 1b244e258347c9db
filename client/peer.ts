/**
 * The edge's end of the peer channel: the UDP endpoint from `p2p/`, the ticket key the
 * server gave at login, and the private chats the server has introduced. It accepts
 * transfers only under tickets the server signed with this device's key and chat
 * messages only authenticated with a chat's secret from the server, and never lets a
 * received file take the name of one of this device's data files.
 *
 * @module
 */

import { PeerEndpoint } from "../p2p/mod.ts";
import { TRANSFER_TICKET_TTL_MS } from "../protocol/limits.ts";
import type { TransferIntroduction } from "../protocol/messages.ts";
import type { PeerAddr } from "../p2p/udp_socket.ts";

/** The peer channel of one edge. */
export class PeerLink {
  readonly endpoint: PeerEndpoint;
  /** Open private chats: partner's name → chat id. */
  readonly #chats = new Map<string, string>();
  #device: string | undefined;

  private constructor(endpoint: PeerEndpoint) {
    this.endpoint = endpoint;
  }

  /**
   * Binds the UDP port (0 = any free one) on `hostname`; files land in `dir`. An
   * incoming transfer silent for `stallTimeoutMs` is abandoned and its part file removed.
   */
  static async open(
    hostname: string,
    port: number,
    dir: string,
    stallTimeoutMs?: number,
  ): Promise<PeerLink> {
    let link: PeerLink | undefined;
    const endpoint = await PeerEndpoint.open({
      hostname,
      port,
      receiveDir: dir,
      reservedName: (name) => link?.device !== undefined && isDataFileName(link.device, name),
      ...(stallTimeoutMs !== undefined && { limits: { stallTimeoutMs } }),
    });
    return link = new PeerLink(endpoint);
  }

  /** This device's name, once logged in. */
  get device(): string | undefined {
    return this.#device;
  }

  /** The UDP port actually bound. */
  get port(): number {
    return this.endpoint.port;
  }

  /** Installs the key from the login result (base64) for device `name`. */
  setTicketKey(base64: string, name: string): void {
    this.#device = name;
    this.endpoint.setTicketKey(fromBase64(base64), name);
  }

  /**
   * Opens a chat the server introduced (a `peer` push): messages are then taken from
   * `device` at `addr` alone, authenticated with keys from `secret` (base64).
   */
  addChat(device: string, addr: PeerAddr, chatId: string, secret: string): void {
    this.endChat(device);
    this.endpoint.openChat({ chatId, peer: device, addr, secret: fromBase64(secret) });
    this.#chats.set(device, chatId);
  }

  /** Whether a private chat with `device` is open. */
  hasChat(device: string): boolean {
    return this.#chats.has(device);
  }

  /** Forgets the chat with `device` and stops accepting its messages. */
  endChat(device: string): void {
    const chatId = this.#chats.get(device);
    if (chatId === undefined) return;
    this.#chats.delete(device);
    this.endpoint.closeChat(chatId);
  }

  /**
   * Ends everything with `device`, which this device has just blocked: its chat, and
   * transfers both ways (the other side is told it was blocked).
   */
  blocked(device: string): void {
    this.#chats.delete(device);
    this.endpoint.blockPeer(device, TRANSFER_TICKET_TTL_MS);
  }

  /**
   * Sends private text to `device` over the peer channel.
   *
   * @throws {Error} when no chat with `device` is open, or the peer does not answer.
   */
  async sendChat(device: string, text: string): Promise<void> {
    const chatId = this.#chats.get(device);
    if (chatId === undefined) {
      throw new Error(`no private chat with ${device}; start one with startprivate ${device}`);
    }
    await this.endpoint.sendChat(chatId, text);
  }

  /**
   * Sends a file to the receiver the server introduced (a `uvf` result: its address,
   * the ticket it sealed for the receiver and the transfer's secret).
   */
  sendFile(
    intro: TransferIntroduction,
    path: string,
    onProgress: (sent: number, total: number) => void,
  ): ReturnType<PeerEndpoint["sendFile"]> {
    const { ip: hostname, udpPort: port, ticket, sealed, secret } = intro;
    return this.endpoint.sendFile({
      to: { hostname, port },
      path,
      ticket: { ticket, sealed, secret },
      onProgress,
    });
  }

  /** Closes the endpoint. */
  close(): Promise<void> {
    return this.endpoint.close();
  }
}

/**
 * Whether `name` is, or could become, one of `device`'s data files: `<device>-<fileID>.txt`,
 * as `EDG` writes them (`dataFilePath` in `commands.ts`).
 */
export function isDataFileName(device: string, name: string): boolean {
  const prefix = `${device}-`;
  return name.startsWith(prefix) && /^-?\d+\.txt$/.test(name.slice(prefix.length));
}

function fromBase64(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}
