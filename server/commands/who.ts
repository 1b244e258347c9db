/**
 * `whoelse` and `whoelsesince`: names of other devices online now, or at any time in
 * the last N seconds (from the login history in the store, so it covers devices that
 * have left and survives a restart). Devices that block the caller are not shown.
 *
 * @module
 */

import type { RequestArgs, ResultFields } from "../../protocol/messages.ts";
import { BadArgumentsError } from "../../protocol/errors.ts";
import { MAX_SINCE_SECONDS } from "../../protocol/limits.ts";
import type { CommandContext } from "../context.ts";

/** Handles `whoelse`. */
export async function whoelse(ctx: CommandContext): Promise<ResultFields<"whoelse">> {
  const blockers = await ctx.server.blocks.blockersOf(ctx.device);
  const devices = ctx.server.active.visibleTo(ctx.device, blockers).map((d) => d.name);
  ctx.server.log(`${ctx.device} asked who else is online (${others(devices.length)})`);
  return { devices };
}

/** Handles `whoelsesince`. */
export async function whoelsesince(
  ctx: CommandContext,
  args: RequestArgs<"whoelsesince">,
): Promise<ResultFields<"whoelsesince">> {
  const { seconds } = args;
  if (seconds < 0 || seconds > MAX_SINCE_SECONDS) {
    throw new BadArgumentsError(`seconds must be 0..${MAX_SINCE_SECONDS}, not ${seconds}`);
  }
  const { active, blocks, presenceHistory, clock } = ctx.server;
  const blockers = await blocks.blockersOf(ctx.device);
  const names = new Set(active.visibleTo(ctx.device, blockers).map((d) => d.name));
  for (const name of await presenceHistory.seenSince(clock.now() - seconds * 1000)) {
    if (name !== ctx.device && !blockers.has(name)) names.add(name);
  }
  ctx.server.log(
    `${ctx.device} asked who else was online in the last ${seconds} s (${others(names.size)})`,
  );
  return { devices: [...names].sort() };
}

/** `1 other`, `2 others`. */
function others(count: number): string {
  return `${count} other${count === 1 ? "" : "s"}`;
}
