/**
 * `uvf`: the server's part of a peer-to-peer file transfer. It checks the target and
 * hands the sender the receiver's address and a one-time ticket signed with the
 * receiver's key; the file itself goes edge to edge over UDP (`p2p/`).
 *
 * @module
 */

import { TRANSFER_TICKET_TTL_MS } from "../../protocol/limits.ts";
import type { RequestArgs, ResultFields } from "../../protocol/messages.ts";
import { MAX_TICKET_FILENAME_CHARS, newTransferId, signTicket } from "../../p2p/ticket.ts";
import { type CommandContext, CommandError } from "../context.ts";
import { checkOtherDevice } from "./peer_names.ts";
import { onlinePeer } from "./private_chat.ts";

/** Handles `uvf`. */
export async function uvf(
  ctx: CommandContext,
  args: RequestArgs<"uvf">,
): Promise<ResultFields<"uvf">> {
  const { to, filename, size } = args;
  if (filename.length === 0 || filename.length > MAX_TICKET_FILENAME_CHARS) {
    throw new CommandError(
      "bad_args",
      `file name must be 1..${MAX_TICKET_FILENAME_CHARS} characters`,
    );
  }
  if (size < 0) throw new CommandError("bad_args", `size must not be negative`);
  await checkOtherDevice(ctx, to);
  // Blocked before offline: the answer must not tell a blocked device whether its
  // blocker is online.
  if (ctx.server.store.isBlocked(to, ctx.device)) {
    throw new CommandError("blocked", `${to} has blocked you; the file cannot be sent`);
  }
  const target = onlinePeer(ctx, to);
  const signed = await signTicket(target.ticketKey, {
    kind: "file",
    transferId: newTransferId(),
    from: ctx.device,
    to,
    filename,
    size,
    expiresAt: ctx.server.clock.now() + TRANSFER_TICKET_TTL_MS,
  });
  ctx.server.log(`${ctx.device} is sending ${JSON.stringify(filename)} (${size} bytes) to ${to}`);
  return { ip: target.ip, udpPort: target.udpPort, ticket: signed.ticket, mac: signed.mac };
}
