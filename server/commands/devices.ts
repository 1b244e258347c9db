/**
 * AED: the other active devices.
 *
 * @module
 */

import { type EncodableFields, EncodedJson } from "../../protocol/codec.ts";
import type { ResultFields } from "../../protocol/messages.ts";
import type { CommandContext } from "../context.ts";

/** Handles `devices`. */
export async function devices(
  ctx: CommandContext,
): Promise<EncodableFields<ResultFields<"devices">>> {
  const { active, blocks } = ctx.server;
  const blockers = await blocks.blockersOf(ctx.device);
  // No await from here to the answer: a device listed cannot leave before it is rendered.
  const others = active.visibleTo(ctx.device, blockers);
  ctx.server.log(
    `${ctx.device} listed active devices (${others.length} other${others.length === 1 ? "" : "s"})`,
  );
  return { devices: new EncodedJson(active.listingsJson(others)) };
}
