/**
 * Presence notices (SPEC §4): when a device logs in or out, every other online device
 * is told, except the devices it has blocked. The notice is encoded once and the same
 * bytes are queued on every recipient's connection. Each server tells the devices
 * connected to it; in a network, the other nodes hear of it through the registry.
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
  // In a network every node tells its own devices (server/cluster/cluster_devices.ts).
  for (const other of server.active.connectedHere()) {
    if (other.name !== device && !hidden.has(other.name)) other.deliver(frame);
  }
}
