/**
 * The one dispatch table from request op to handler, for ops of a logged-in device.
 * Handshake and login ops belong to the session's state machine, not here.
 *
 * @module
 */

import type { EncodableFields } from "../../protocol/codec.ts";
import type { Op, RequestArgs, ResultFields } from "../../protocol/messages.ts";
import type { CommandContext } from "../context.ts";
import { block, blocked, unblock } from "./blocking.ts";
import { compute } from "./compute.ts";
import { deleteFile } from "./delete.ts";
import { devices } from "./devices.ts";
import { ack, broadcast, message } from "./messaging.ts";
import { uvf } from "./peer_transfer.ts";
import { privateAnswer, startprivate, stopprivate } from "./private_chat.ts";
import { upload } from "./upload.ts";
import { whoelse, whoelsesince } from "./who.ts";

/** A handler of op `O`; it may give a field already encoded (see `EncodedJson`). */
export type Handler<O extends Op> = (
  ctx: CommandContext,
  args: RequestArgs<O>,
  requestId: number,
) => Promise<EncodableFields<ResultFields<O>>>;

/** Ops handled by the dispatch table. */
export type CommandOp = Exclude<
  Op,
  | "hello"
  | "login"
  | "key_challenge"
  | "key_login"
  | "udp_port"
  | "upload_abort"
  | "logout"
  | "keepalive"
>;

/** Op → handler. */
export const HANDLERS: { [O in CommandOp]: Handler<O> } = {
  upload,
  compute,
  delete: deleteFile,
  devices,
  uvf,
  message,
  broadcast,
  ack,
  whoelse,
  whoelsesince,
  block,
  unblock,
  blocked,
  startprivate,
  private_answer: privateAnswer,
  stopprivate,
};

/** Tells whether `op` is served by {@linkcode HANDLERS}. */
export function isCommandOp(op: Op): op is CommandOp {
  return Object.hasOwn(HANDLERS, op);
}
