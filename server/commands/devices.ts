/**
 * AED: the other active devices.
 *
 * @module
 */

import { type EncodableFields, EncodedJson } from "../../protocol/codec.ts";
import type { ResultFields } from "../../protocol/messages.ts";
import type { CommandContext } from "../context.ts";
import { visibleDevices } from "../presence.ts";

/** Handles `devices`. */
export function devices(ctx: CommandContext): Promise<EncodableFields<ResultFields<"devices">>> {
  const others = visibleDevices(ctx.server, ctx.device);
  ctx.server.log(
    `${ctx.device} listed active devices (${others.length} other${others.length === 1 ? "" : "s"})`,
  );
  return Promise.resolve({ devices: new EncodedJson(ctx.server.active.listingsJson(others)) });
}
