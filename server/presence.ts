/**
 * Presence notices (SPEC §4): when a device logs in or out, every other online device
 * is told, except the devices it has blocked. The notice is encoded once and the same
 * bytes are queued on every recipient's connection.
 *
 * @module
 */

import { encodeMessage } from "../protocol/codec.ts";
import type { PushFields } from "../protocol/messages.ts";
import type { ServerContext } from "./context.ts";

/** Tells the others that `device` went online or offline. */
export async function announcePresence(
  server: Pick<ServerContext, "active" | "blocks">,
  device: string,
  state: PushFields<"presence">["state"],
): Promise<void> {
  const hidden = await server.blocks.blockedBy(device);
  // From here on in one task: the list is the one the notice goes to.
  const frame = encodeMessage({ t: "push", event: "presence", device, state });
  for (const other of server.active.list()) {
    if (other.name !== device && !hidden.has(other.name)) other.deliver(frame);
  }
}
