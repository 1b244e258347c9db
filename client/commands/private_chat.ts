/**
 * Private chat (SPEC §4): asked for through the server, then text edge to edge over the
 * peer channel. The answer to another device's request is a command of its own
 * (`ANSWER`), typed as `y` or `n` while a request waits.
 *
 * @module
 */

import { visible } from "../../internal/mod.ts";
import { NotFoundError } from "../../protocol/errors.ts";
import type { CommandSpec, DeviceArgs, TypedCommandSpec } from "./command.ts";

/** startprivate: asks a device for a chat; its answer comes later as an event. */
export const startprivate: TypedCommandSpec<"STARTPRIVATE", DeviceArgs, DeviceArgs> = {
  word: "STARTPRIVATE",
  synopsis: "startprivate device",
  summary: "ask a device for a private (peer-to-peer) chat",
  parse: (args) => args.device(),
  async run(env, { device }) {
    await env.connection.request("startprivate", { device });
    return { device };
  },
  render: ({ device }) => `Asked ${device} for a private chat; waiting for the answer`,
};

/** private: text over an accepted chat, straight to the other device. */
export const privateMessage: TypedCommandSpec<
  "PRIVATE",
  DeviceArgs & { text: string },
  DeviceArgs
> = {
  word: "PRIVATE",
  synopsis: "private device text",
  summary: "send text over an accepted private chat",
  parse(args) {
    args.expectText(2, "a device name and some text");
    return { device: args.arg(0), text: args.textAfter(1) };
  },
  async run(env, { device, text }) {
    await env.peer.sendChat(device, text);
    return { device };
  },
  render: ({ device }) => `Private message sent to ${device}`,
};

/** stopprivate: ends a chat; the other side is told. */
export const stopprivate: TypedCommandSpec<"STOPPRIVATE", DeviceArgs, DeviceArgs> = {
  word: "STOPPRIVATE",
  synopsis: "stopprivate device",
  summary: "end a private chat",
  parse: (args) => args.device(),
  async run(env, { device }) {
    env.peer.endChat(device);
    await env.connection.request("stopprivate", { device });
    return { device };
  },
  render: ({ device }) => `You ended the private chat with ${device}`,
};

/**
 * A line that answers a private-chat request: `y`/`yes`/`n`/`no`, optionally followed by
 * the device whose request it answers (`y watch3`); bare, it answers the oldest.
 */
const ANSWER_LINE = /^\s*(y|yes|n|no)(?:\s+(\S+))?\s*$/i;

/** The arguments of an answer: whose request, and whether it is accepted. */
export interface AnswerArgs extends DeviceArgs {
  accept: boolean;
}

/**
 * Reads a line as an answer to a waiting private-chat request.
 *
 * @param line the line typed.
 * @param oldest the device whose request has waited longest (a bare answer's).
 * @returns the answer, or `undefined` when the line is not one.
 */
export function parseAnswer(line: string, oldest: string): AnswerArgs | undefined {
  const match = ANSWER_LINE.exec(line);
  if (!match) return undefined;
  return { device: match[2] ?? oldest, accept: /^y/i.test(match[1]!) };
}

/** ANSWER: accepts or declines a device's private-chat request. */
export const answer: CommandSpec<"ANSWER", AnswerArgs, AnswerArgs> = {
  word: "ANSWER",
  async run(env, { device, accept }) {
    if (!env.chatRequests.drop(device)) {
      throw new NotFoundError(
        `no private chat request from ${visible(device)} is waiting; ` +
          `answer one of: ${env.chatRequests.list().map((r) => visible(r)).join(", ")}`,
      );
    }
    await env.connection.request("private_answer", { device, accept });
    return { device, accept };
  },
  render: ({ device, accept }) =>
    accept ? `Private chat with ${device} started` : `Declined ${device}'s private chat`,
  failureFields: ({ device }) => ({ device }),
};
