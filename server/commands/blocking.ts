/**
 * `block`, `unblock` and `blocked` (the list: `block` typed with no device). Blocks live in the store and survive restarts; their effects
 * are applied where each command runs (messages, broadcast, presence, lists,
 * `startprivate`, `UVF`).
 *
 * @module
 */

import { encodeMessage } from "../../protocol/codec.ts";
import type { RequestArgs, ResultFields } from "../../protocol/messages.ts";
import { BadArgumentsError } from "../../protocol/errors.ts";
import type { CommandContext } from "../context.ts";
import { checkOtherDevice } from "./peer_names.ts";

/**
 * Handles `block`: a private chat between the two ends, and a request either way is
 * withdrawn. The blocked device is told (its request `declined`, or the request to it
 * `ended`); the blocker's own edge drops a request from the blocked device itself.
 */
export async function block(
  ctx: CommandContext,
  args: RequestArgs<"block">,
): Promise<ResultFields<"block">> {
  const { device } = args;
  await checkOtherDevice(ctx, device);
  const { blocks, log, privateChats, active } = ctx.server;
  if (!(await blocks.add(ctx.device, device))) {
    throw new BadArgumentsError(`${device} is already blocked`);
  }
  const now = ctx.server.clock.now();
  for (const request of await privateChats.cancelRequests(ctx.device, device, now)) {
    active.get(device)?.deliver(
      encodeMessage({
        t: "push",
        event: "private",
        device: ctx.device,
        state: request.from === device ? "declined" : "ended",
        reason: "blocked",
      }),
    );
  }
  if (await privateChats.end(ctx.device, device)) {
    active.get(device)?.deliver(
      encodeMessage({
        t: "push",
        event: "private",
        device: ctx.device,
        state: "ended",
        reason: "blocked",
      }),
    );
  }
  log(`${ctx.device} blocked ${device}`);
  return { device };
}

/** Handles `unblock`. */
export async function unblock(
  ctx: CommandContext,
  args: RequestArgs<"unblock">,
): Promise<ResultFields<"unblock">> {
  const { device } = args;
  await checkOtherDevice(ctx, device);
  if (!(await ctx.server.blocks.remove(ctx.device, device))) {
    throw new BadArgumentsError(`${device} is not blocked`);
  }
  ctx.server.log(`${ctx.device} unblocked ${device}`);
  return { device };
}

/** Handles `blocked`: the devices this one blocks, sorted by name. */
export async function blocked(
  ctx: CommandContext,
  _args: RequestArgs<"blocked">,
): Promise<ResultFields<"blocked">> {
  const devices = [...await ctx.server.blocks.blockedBy(ctx.device)].sort();
  ctx.server.log(`${ctx.device} listed its blocks`);
  return { devices };
}
