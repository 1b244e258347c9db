/**
 * The messaging commands of SPEC §4: text through the server, who else is online, and
 * blocks.
 *
 * @module
 */

import { visible } from "../../internal/mod.ts";
import { MAX_SINCE_SECONDS } from "../../protocol/limits.ts";
import type { RequestArgs, ResultFields } from "../../protocol/messages.ts";
import type { DeviceArgs, NoArgs, TypedCommandSpec } from "./command.ts";

/** message: text to one device, stored by the server while it is offline. */
export const message: TypedCommandSpec<
  "MESSAGE",
  DeviceArgs & { text: string },
  DeviceArgs & ResultFields<"message">
> = {
  word: "MESSAGE",
  synopsis: "message device text",
  summary: "send text to a device (stored if it is offline)",
  parse(args) {
    args.expectText(2, "a device name and some text");
    return { device: args.arg(0), text: args.textAfter(1) };
  },
  async run(env, { device, text }) {
    const { delivery } = await env.connection.request("message", { to: device, text });
    return { device, delivery };
  },
  render: ({ device, delivery }) =>
    delivery === "online"
      ? `Message sent to ${device}`
      : `${device} is offline; the message will be delivered when it logs in`,
};

/** broadcast: text to every online device but those that block this one. */
export const broadcast: TypedCommandSpec<
  "BROADCAST",
  { text: string },
  ResultFields<"broadcast">
> = {
  word: "BROADCAST",
  synopsis: "broadcast text",
  summary: "send text to every online device",
  parse(args) {
    args.expectText(1, "some text");
    return { text: args.textAfter(0) };
  },
  async run(env, { text }) {
    const { delivered, refused } = await env.connection.request("broadcast", { text });
    return { delivered, refused };
  },
  render: ({ delivered, refused }) =>
    `Broadcast sent to ${delivered} device${delivered === 1 ? "" : "s"}` +
    (refused > 0 ? `; ${refused} could not receive it (they have blocked you)` : ""),
};

/** whoelse: the other online devices. */
export const whoelse: TypedCommandSpec<"WHOELSE", NoArgs, ResultFields<"whoelse">> = {
  word: "WHOELSE",
  synopsis: "whoelse",
  summary: "list the other online devices",
  parse: (args) => args.none(),
  async run(env) {
    const { devices } = await env.connection.request("whoelse", {});
    return { devices };
  },
  render: ({ devices }) =>
    devices.length ? devices.map((d) => visible(d)).join("\n") : "No other devices are online",
};

/** whoelsesince: the other devices online at any time in a recent window. */
export const whoelsesince: TypedCommandSpec<
  "WHOELSESINCE",
  RequestArgs<"whoelsesince">,
  ResultFields<"whoelsesince">
> = {
  word: "WHOELSESINCE",
  synopsis: "whoelsesince seconds",
  summary: "list devices online at any time in the last seconds",
  parse(args) {
    args.expect(1, "a number of seconds");
    return { seconds: args.integer(0, "seconds", 0, MAX_SINCE_SECONDS) };
  },
  async run(env, { seconds }) {
    const { devices } = await env.connection.request("whoelsesince", { seconds });
    return { devices };
  },
  render: ({ devices }, { seconds }) =>
    devices.length
      ? devices.map((d) => visible(d)).join("\n")
      : `No other devices were online in the last ${seconds} s`,
};

/**
 * block: the device can no longer message or see this one; running transfers with it end,
 * and its waiting private-chat request is cancelled. With no device, the list of the
 * devices this one blocks (the messaging system's "show Blacklist to client").
 */
export const block: TypedCommandSpec<
  "BLOCK",
  Partial<DeviceArgs>,
  DeviceArgs & { requestCancelled: boolean } | { devices: string[] },
  DeviceArgs | { devices: string[] }
> = {
  word: "BLOCK",
  synopsis: "block [device]",
  summary: "stop a device from messaging or seeing you; alone: list whom you block",
  parse: (args) => args.count === 0 ? {} : args.device(),
  async run(env, { device }) {
    if (device === undefined) {
      const { devices } = await env.connection.request("blocked", {});
      return { devices };
    }
    await env.connection.request("block", { device });
    env.peer.blocked(device);
    return { device, requestCancelled: env.chatRequests.drop(device) };
  },
  render: (outcome) =>
    "devices" in outcome
      ? outcome.devices.length
        ? `You block: ${outcome.devices.map((d) => visible(d)).join(", ")}`
        : "You block no devices"
      : `${outcome.device} is blocked` +
        (outcome.requestCancelled ? "; its private chat request was cancelled" : ""),
  json: (outcome) =>
    "devices" in outcome ? { devices: outcome.devices } : { device: outcome.device },
};

/** unblock: lifts a block. */
export const unblock: TypedCommandSpec<"UNBLOCK", DeviceArgs, DeviceArgs> = {
  word: "UNBLOCK",
  synopsis: "unblock device",
  summary: "lift a block",
  parse: (args) => args.device(),
  async run(env, { device }) {
    await env.connection.request("unblock", { device });
    return { device };
  },
  render: ({ device }) => `${device} is unblocked`,
};
