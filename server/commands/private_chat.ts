/**
 * `startprivate`, `private_answer` and `stopprivate`: the server asks the target, and on
 * yes introduces the two devices to each other: each learns the other's address, the
 * chat id and a fresh secret for this chat alone, from which both derive the keys that
 * authenticate every chat datagram (`p2p/chat_keys.ts`). The text then flows edge to
 * edge over the peer channel and never through the server, which forgets the secret.
 *
 * @module
 */

import { encodeMessage } from "../../protocol/codec.ts";
import { PRIVATE_REQUEST_TIMEOUT_MS } from "../../protocol/limits.ts";
import type { Push, RequestArgs, ResultFields } from "../../protocol/messages.ts";
import {
  BadArgumentsError,
  BlockedError,
  NotFoundError,
  OfflineError,
} from "../../protocol/errors.ts";
import { newChatSecret } from "../../p2p/chat_keys.ts";
import type { ActiveDevice } from "../active_devices.ts";
import type { CommandContext } from "../context.ts";
import { checkOtherDevice } from "./peer_names.ts";

/** Handles `startprivate`: asks the target, answers at once; the outcome comes as a push. */
export async function startprivate(
  ctx: CommandContext,
  args: RequestArgs<"startprivate">,
): Promise<ResultFields<"startprivate">> {
  const { device } = args;
  await checkOtherDevice(ctx, device);
  const { blocks, privateChats, clock, log } = ctx.server;
  // Blocked before offline: the answer must not tell a blocked device whether its
  // blocker is online.
  if (await blocks.isBlocked(device, ctx.device)) {
    throw new BlockedError(`${device} has blocked you; no private chat is possible`);
  }
  const target = await onlinePeer(ctx, device);
  if (await privateChats.chatId(ctx.device, device)) {
    throw new BadArgumentsError(`you are already in a private chat with ${device}`);
  }
  await privateChats.request(ctx.device, device, clock.now() + PRIVATE_REQUEST_TIMEOUT_MS);
  target.deliver(push({ t: "push", event: "private", device: ctx.device, state: "requested" }));
  log(`${ctx.device} asked ${device} for a private chat`);
  return { device };
}

/** Handles `private_answer`: the target's yes or no to a request. */
export async function privateAnswer(
  ctx: CommandContext,
  args: RequestArgs<"private_answer">,
): Promise<ResultFields<"private_answer">> {
  const { device: requester, accept } = args;
  const { privateChats, clock, log } = ctx.server;
  if (!(await privateChats.takeRequest(requester, ctx.device, clock.now()))) {
    throw new NotFoundError(`there is no open private chat request from ${requester}`);
  }
  const other = await onlinePeer(ctx, requester);
  const me = ctx.server.active.get(ctx.device)!;
  if (!accept) {
    other.deliver(push({ t: "push", event: "private", device: ctx.device, state: "declined" }));
    log(`${ctx.device} declined a private chat with ${requester}`);
    return { device: requester, accept };
  }
  const chatId = await privateChats.start(requester, ctx.device);
  const secret = newChatSecret();
  me.deliver(peerPush(other, chatId, secret));
  other.deliver(peerPush(me, chatId, secret));
  other.deliver(push({ t: "push", event: "private", device: ctx.device, state: "accepted" }));
  log(`${ctx.device} accepted a private chat with ${requester}`);
  return { device: requester, accept };
}

/** Handles `stopprivate`. */
export async function stopprivate(
  ctx: CommandContext,
  args: RequestArgs<"stopprivate">,
): Promise<ResultFields<"stopprivate">> {
  const { device } = args;
  await checkOtherDevice(ctx, device);
  if (!(await ctx.server.privateChats.end(ctx.device, device))) {
    throw new NotFoundError(`you are not in a private chat with ${device}`);
  }
  ctx.server.active.get(device)?.deliver(
    push({ t: "push", event: "private", device: ctx.device, state: "ended", reason: "stopped" }),
  );
  ctx.server.log(`${ctx.device} ended the private chat with ${device}`);
  return { device };
}

/** @throws {OfflineError} when `device` is not online. */
export async function onlinePeer(ctx: CommandContext, device: string): Promise<ActiveDevice> {
  const target = await ctx.server.active.lookup(device);
  if (!target) throw new OfflineError(`${device} is not online`);
  return target;
}

/** The `peer` push that introduces `partner` for chat `chatId` with the chat's secret. */
function peerPush(partner: ActiveDevice, chatId: string, secret: string): Uint8Array {
  return push({
    t: "push",
    event: "peer",
    device: partner.name,
    ip: partner.ip,
    udpPort: partner.udpPort,
    chatId,
    secret,
  });
}

function push(message: Push): Uint8Array {
  return encodeMessage(message);
}
