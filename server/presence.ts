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
export function announcePresence(
  server: Pick<ServerContext, "active" | "store">,
  device: string,
  state: PushFields<"presence">["state"],
): void {
  const hidden = server.store.blockedBy(device);
  const frame = encodeMessage({ t: "push", event: "presence", device, state });
  for (const other of server.active.list()) {
    if (other.name !== device && !hidden.has(other.name)) other.deliver(frame);
  }
}

/**
 * The active devices `viewer` may see: all but itself and those that block it.
 */
export function visibleDevices(
  server: Pick<ServerContext, "active" | "store">,
  viewer: string,
): ReturnType<ServerContext["active"]["list"]> {
  const blockers = server.store.blockersOf(viewer);
  return server.active.list().filter((d) => d.name !== viewer && !blockers.has(d.name));
}
