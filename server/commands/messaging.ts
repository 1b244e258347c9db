/**
 * `message`, `broadcast` and `ack`: text between devices through the server. A message
 * to an offline device is stored (durably) and delivered, in order, at its next login;
 * it leaves the store only when the recipient acknowledges it.
 *
 * @module
 */

import { encodeMessage } from "../../protocol/codec.ts";
import type { RequestArgs, ResultFields } from "../../protocol/messages.ts";
import { BlockedError, BusyError, NotFoundError } from "../../protocol/errors.ts";
import type { CommandContext } from "../context.ts";
import { checkOtherDevice, checkText } from "./peer_names.ts";

/** Handles `message`. */
export async function message(
  ctx: CommandContext,
  args: RequestArgs<"message">,
): Promise<ResultFields<"message">> {
  const { to, text } = args;
  checkText(text);
  await checkOtherDevice(ctx, to);
  const { blocks, mailbox, active, clock, log, settings } = ctx.server;
  // Before anything that depends on whether `to` is online (`delivery`, a full mailbox).
  if (await blocks.isBlocked(to, ctx.device)) {
    log(`${ctx.device}: message to ${to} refused (blocked)`);
    throw new BlockedError(`${to} has blocked you; your message was not delivered`);
  }
  const message = { recipient: to, sender: ctx.device, text, sentAt: clock.now() };
  const target = await active.lookup(to);
  if (target) {
    const frame = encodeMessage({
      t: "push",
      event: "message",
      from: ctx.device,
      text,
      kind: "direct",
    });
    // False when the device's node has just gone: then it is offline, and the message stored.
    if (await active.sendDirect(target, frame, message)) {
      log(`${ctx.device} messaged ${to}`);
      ctx.server.metrics.messages.inc({ kind: "direct" });
      return { delivery: "online" };
    }
  }
  // Durable (group-committed) before the sender is told it is stored.
  const stored = await mailbox.add(
    message,
    {
      maxCount: settings.maxOfflineMessages,
      maxBytes: settings.maxOfflineBytes,
      maxCountPerSender: settings.maxOfflineMessagesPerSender,
      maxBytesPerSender: settings.maxOfflineBytesPerSender,
    },
  );
  if ("full" in stored) {
    throw new BusyError(
      stored.full === "sender"
        ? `${to} is offline and you already have the most messages waiting for it that one ` +
          `sender may leave (${settings.maxOfflineMessagesPerSender} or ` +
          `${settings.maxOfflineBytesPerSender} bytes); try again after ${to} logs in`
        : `${to} is offline and already has the most messages waiting that the server keeps ` +
          `(${settings.maxOfflineMessages} or ${settings.maxOfflineBytes} bytes); try again after it logs in`,
    );
  }
  active.messageStored(to);
  log(`${ctx.device} left a message for ${to} (offline)`);
  ctx.server.metrics.messages.inc({ kind: "offline" });
  return { delivery: "stored" };
}

/**
 * Handles `broadcast`: every online device but the sender and those that block it.
 * `refused` counts every device that blocks the sender, online or not: counting only the
 * online ones would tell a blocked device when its blocker is online.
 */
export async function broadcast(
  ctx: CommandContext,
  args: RequestArgs<"broadcast">,
): Promise<ResultFields<"broadcast">> {
  checkText(args.text);
  const { blocks, active, log } = ctx.server;
  const blockers = await blocks.blockersOf(ctx.device);
  const frame = encodeMessage({
    t: "push",
    event: "message",
    from: ctx.device,
    text: args.text,
    kind: "broadcast",
  });
  const delivered = await active.broadcast(frame, { sender: ctx.device, blockers });
  const refused = blockers.size;
  ctx.server.metrics.messages.inc({ kind: "broadcast" });
  log(
    `${ctx.device} broadcast to ${delivered} device${
      delivered === 1 ? "" : "s"
    } (${refused} refused)`,
  );
  return { delivered, refused };
}

/** Handles `ack`: the edge has shown a stored message, so the server may forget it. */
export async function ack(
  ctx: CommandContext,
  args: RequestArgs<"ack">,
): Promise<ResultFields<"ack">> {
  // Durable before the reply: an acknowledged message never comes again.
  if (!(await ctx.server.mailbox.remove(ctx.device, args.message))) {
    throw new NotFoundError(`no stored message ${args.message} for ${ctx.device}`);
  }
  ctx.server.log(`${ctx.device} received stored message ${args.message}`);
  return {};
}
