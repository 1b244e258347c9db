/**
 * Every message of the iotnet TCP protocol, in three tables: requests (client → server),
 * their results (server → client), and pushes (server → client, unasked). The tables are
 * the single source of both validation and TypeScript types (`schema.ts`): a field listed
 * as `{ $oneOf: [...] }` is a literal union on both sides, and a value outside it is a
 * protocol error. See `docs/PROTOCOL.md`.
 *
 * @module
 */

import { OPERATIONS } from "./compute.ts";
import type { ErrorCode } from "./errors.ts";
import type { Infer, Shape } from "./schema.ts";

const device = { name: "string", since: "string", ip: "string", udpPort: "int" } as const;

/**
 * A one-time transfer ticket (see `docs/P2P.md`, "Tickets"): `kind` says what it
 * introduces, and only file transfers exist today. Its type is the one `p2p/ticket.ts`
 * seals and opens (the server passes that type in, the edge passes this one out).
 */
const ticket = {
  $tag: "kind",
  $variants: {
    file: {
      transferId: "string",
      from: "string",
      to: "string",
      filename: "string",
      size: "int",
      expiresAt: "int",
    },
  },
} as const;

/**
 * A UVF receiver's address, the ticket's fields, the ticket sealed for the receiver
 * (base64) and the transfer's secret (base64), given to the sender.
 */
const transferIntroduction = {
  ip: "string",
  udpPort: "int",
  ticket,
  sealed: "string",
  secret: "string",
} as const;

/** Request op → the fields it carries besides `t`, `id` and `op`. */
export const REQUESTS = {
  hello: { protocol: "string", version: "int" },
  login: { name: "string", password: "string" },
  key_challenge: {},
  key_login: { name: "string", signature: "string" },
  udp_port: { port: "int" },
  upload: { fileID: "int", bytes: "int" },
  upload_abort: { upload: "int" },
  compute: { fileID: "int", operation: { $oneOf: OPERATIONS } },
  delete: { fileID: "int" },
  devices: {},
  uvf: { to: "string", filename: "string", size: "int" },
  message: { to: "string", text: "string" },
  broadcast: { text: "string" },
  ack: { message: "int" },
  whoelse: {},
  whoelsesince: { seconds: "int" },
  block: { device: "string" },
  unblock: { device: "string" },
  blocked: {},
  startprivate: { device: "string" },
  private_answer: { device: "string", accept: "bool" },
  stopprivate: { device: "string" },
  logout: {},
  keepalive: {},
} as const satisfies Record<string, Shape>;

/** Request op → the fields of its successful result besides `t`, `id` and `ok`. */
export const RESULTS = {
  hello: { version: "int", loginDeadlineMs: "int", maxFrameBytes: "int", keepaliveMs: "int" },
  login: { ticketKey: "string", registered: { $optional: "bool" } },
  key_challenge: { challenge: "string" },
  key_login: { ticketKey: "string" },
  udp_port: {},
  upload: { fileID: "int", dataAmount: "int" },
  upload_abort: {},
  compute: { op: { $oneOf: OPERATIONS }, result: "string" },
  delete: { fileID: "int", dataAmount: "int" },
  devices: { devices: [device] },
  uvf: transferIntroduction,
  message: { delivery: { $oneOf: ["online", "stored"] } },
  broadcast: { delivered: "int", refused: "int" },
  ack: {},
  whoelse: { devices: "string[]" },
  whoelsesince: { devices: "string[]" },
  block: { device: "string" },
  unblock: { device: "string" },
  blocked: { devices: "string[]" },
  startprivate: { device: "string" },
  private_answer: { device: "string", accept: "bool" },
  stopprivate: { device: "string" },
  logout: {},
  keepalive: {},
} as const satisfies { [K in keyof typeof REQUESTS]: Shape };

/** Push event → its fields besides `t` and `event`. */
export const PUSHES = {
  presence: { device: "string", state: { $oneOf: ["online", "offline"] } },
  /** A message through the server; a stored one (`offline`) must be acknowledged by its id. */
  message: {
    $tag: "kind",
    $variants: {
      direct: { from: "string", text: "string" },
      broadcast: { from: "string", text: "string" },
      offline: { from: "string", text: "string", id: "int", sentAt: "int" },
    },
  },
  /** The life of a private chat; `reason` says why one was declined or ended. */
  private: {
    $tag: "state",
    $variants: {
      requested: { device: "string" },
      accepted: { device: "string" },
      declined: { device: "string", reason: { $optional: { $oneOf: ["blocked"] } } },
      ended: { device: "string", reason: { $oneOf: ["stopped", "left", "blocked"] } },
    },
  },
  /** An accepted private chat: the partner, its address, the chat id and secret (base64). */
  peer: { device: "string", ip: "string", udpPort: "int", chatId: "string", secret: "string" },
  logout: {
    reason: {
      $oneOf: ["login_timeout", "idle", "shutdown", "protocol", "busy", "silent", "unavailable"],
    },
    message: "string",
  },
  /** The server has heard nothing from the edge for one keepalive interval: answer it. */
  keepalive: {},
} as const satisfies Record<string, Shape>;

/** Names of requests. */
export type Op = keyof typeof REQUESTS;
/** Names of push events. */
export type PushEvent = keyof typeof PUSHES;

/** The fields of request `O`. */
export type RequestArgs<O extends Op> = Infer<typeof REQUESTS[O]>;
/** The fields of a successful result of request `O`. */
export type ResultFields<O extends Op> = Infer<typeof RESULTS[O]>;
/** The fields of push `E`. */
export type PushFields<E extends PushEvent> = Infer<typeof PUSHES[E]>;
/** What a UVF sender is given: the receiver's address and a signed ticket. */
export type TransferIntroduction = ResultFields<"uvf">;

/** A request on the wire. */
export type Request = { [O in Op]: { t: "req"; id: number; op: O } & RequestArgs<O> }[Op];
/** A successful response on the wire (its fields depend on the request's op). */
export type OkResponse = { t: "res"; id: number; ok: true } & Record<string, unknown>;
/** A failed response on the wire. */
export type ErrorResponse = {
  t: "res";
  id: number;
  ok: false;
  error: ErrorCode;
  message: string;
};
/** Any response. */
export type Response = OkResponse | ErrorResponse;
/** A push on the wire. */
export type Push = { [E in PushEvent]: { t: "push"; event: E } & PushFields<E> }[PushEvent];
/** Anything a JSON frame may hold. */
export type Message = Request | Response | Push;
