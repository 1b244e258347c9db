/**
 * `uvf`: the server's part of a peer-to-peer file transfer. It checks the target and
 * hands the sender the receiver's address, a one-time ticket sealed under the
 * receiver's session key with a fresh secret for this transfer inside, and that secret;
 * the file itself goes edge to edge over UDP (`p2p/`), sealed under keys from the
 * secret. The server keeps neither ticket nor secret.
 *
 * @module
 */

import { MAX_FILE_BYTES, MAX_TICKET_BYTES } from "../../p2p/limits.ts";
import {
  encodeTicket,
  MAX_TICKET_FILENAME_CHARS,
  newTransferId,
  sealTicket,
} from "../../p2p/ticket.ts";
import { MAX_NAME_BYTES, TRANSFER_TICKET_TTL_MS } from "../../protocol/limits.ts";
import type { RequestArgs, ResultFields } from "../../protocol/messages.ts";
import { BadArgumentsError, BlockedError } from "../../protocol/errors.ts";
import type { CommandContext } from "../context.ts";
import { checkOtherDevice } from "./peer_names.ts";
import { onlinePeer } from "./private_chat.ts";

/**
 * Longest file name, in bytes of its JSON string, that a transfer ticket holds
 * (`MAX_TICKET_BYTES`) beside the longest device names, the largest size and any expiry
 * this century: measured on such a ticket, so it follows the ticket's format.
 */
export const MAX_UVF_FILENAME_BYTES = (() => {
  const name = "n".repeat(MAX_NAME_BYTES);
  const filename = "f";
  const bytes = encodeTicket({
    kind: "file",
    transferId: "0".repeat(32),
    from: name,
    to: name,
    filename,
    size: MAX_FILE_BYTES,
    expiresAt: 9_999_999_999_999,
  }, new Uint8Array(32)).length;
  return MAX_TICKET_BYTES - (bytes - jsonBytes(filename));
})();

/** Handles `uvf`. */
export async function uvf(
  ctx: CommandContext,
  args: RequestArgs<"uvf">,
): Promise<ResultFields<"uvf">> {
  const { to, filename, size } = args;
  checkFileName(filename);
  if (size < 0) throw new BadArgumentsError("size must not be negative");
  if (size > MAX_FILE_BYTES) {
    throw new BadArgumentsError(
      `size ${size} is over the ${MAX_FILE_BYTES}-byte largest file a transfer can announce`,
    );
  }
  await checkOtherDevice(ctx, to);
  // Blocked before offline: the answer must not tell a blocked device whether its
  // blocker is online.
  if (await ctx.server.blocks.isBlocked(to, ctx.device)) {
    throw new BlockedError(`${to} has blocked you; the file cannot be sent`);
  }
  const target = await onlinePeer(ctx, to);
  const sealed = sealTicket(target.ticketKey, {
    kind: "file",
    transferId: newTransferId(),
    from: ctx.device,
    to,
    filename,
    size,
    expiresAt: ctx.server.clock.now() + TRANSFER_TICKET_TTL_MS,
  });
  ctx.server.log(`${ctx.device} is sending ${JSON.stringify(filename)} (${size} bytes) to ${to}`);
  return {
    ip: target.ip,
    udpPort: target.udpPort,
    ticket: sealed.ticket,
    sealed: sealed.sealed,
    secret: sealed.secret,
  };
}

/** @throws {BadArgumentsError} for a file name no ticket can carry. */
function checkFileName(filename: string): void {
  if (filename.length === 0 || filename.length > MAX_TICKET_FILENAME_CHARS) {
    throw new BadArgumentsError(`file name must be 1..${MAX_TICKET_FILENAME_CHARS} characters`);
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(filename)) {
    throw new BadArgumentsError("file name may not contain control characters");
  }
  const bytes = jsonBytes(filename);
  if (bytes > MAX_UVF_FILENAME_BYTES) {
    throw new BadArgumentsError(
      `file name is too long: it takes ${bytes} bytes in a transfer ticket, which holds ` +
        `${MAX_UVF_FILENAME_BYTES}; use a shorter name`,
    );
  }
}

/** Bytes of `text` as a JSON string in UTF-8, quotes included. */
function jsonBytes(text: string): number {
  return new TextEncoder().encode(JSON.stringify(text)).length;
}
