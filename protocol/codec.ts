/**
 * Encoding and decoding of protocol messages: pure functions between typed messages and
 * frame bytes. Decoding validates untrusted input against the tables of `messages.ts`
 * and reports every problem as a {@linkcode ProtocolError}.
 *
 * @module
 */

import { isErrorCode, ProtocolError } from "./errors.ts";
import { encodeMessageFrame } from "./frame.ts";
import { type Message, type Op, PUSHES, REQUESTS, RESULTS } from "./messages.ts";
import { schemaFits, schemaProblem } from "./schema.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes a message as a complete frame.
 *
 * @param message any request, response or push.
 * @returns the frame bytes.
 * @throws {FrameTooLargeError} when the message is over the frame limit.
 */
export function encodeMessage(message: Message): Uint8Array {
  return encodeMessageFrame(encoder.encode(JSON.stringify(message)));
}

/**
 * JSON text of a value of type `T`, made ahead of the reply it goes in: for a list the
 * server sends to many devices (AED), each entry is encoded once and a reply joins them,
 * where encoding a thousand entries for every reply took three times as long.
 */
export class EncodedJson<T> {
  /** The type of value the text encodes (for the type checker only). */
  declare readonly of: T;
  /** @param text valid JSON of a `T`. */
  constructor(readonly text: string) {}
}

/** Fields of a message, each given as its value or as that value already encoded. */
export type EncodableFields<F> = { [K in keyof F]: F[K] | EncodedJson<F[K]> };

/**
 * Encodes a successful response as a complete frame. Fields given as
 * {@linkcode EncodedJson} go in as their text.
 *
 * @example
 * ```ts
 * import { decodeMessage, EncodedJson, encodeResponse } from "./codec.ts";
 * import assert from "node:assert/strict";
 * const frame = encodeResponse(7, { devices: new EncodedJson<string[]>('["a","b"]') });
 * assert.deepEqual(decodeMessage(frame.subarray(5)), {
 *   t: "res",
 *   id: 7,
 *   ok: true,
 *   devices: ["a", "b"],
 * });
 * ```
 *
 * @param id the request's id.
 * @param fields the result fields.
 * @returns the frame bytes.
 * @throws {FrameTooLargeError} when the message is over the frame limit.
 */
export function encodeResponse(id: number, fields: Record<string, unknown>): Uint8Array {
  let plain = fields;
  let encoded = "";
  for (const key in fields) {
    const value = fields[key];
    if (value instanceof EncodedJson) {
      if (plain === fields) plain = { ...fields };
      delete plain[key];
      encoded += `,${JSON.stringify(key)}:${value.text}`;
    }
  }
  const head = JSON.stringify({ t: "res", id, ok: true, ...plain });
  // The head is never `{}`, so the encoded fields follow a comma inside its braces.
  const text = encoded === "" ? head : `${head.slice(0, -1)}${encoded}}`;
  return encodeMessageFrame(encoder.encode(text));
}

/**
 * Decodes and validates the body of a message frame. Responses are checked against the
 * result table of the op the caller had asked for (`opOf`), since the wire does not
 * repeat it.
 *
 * @param body the frame body (UTF-8 JSON).
 * @param opOf looks up which op a response id answers; without it, responses are only
 *   checked for their envelope.
 * @returns the message.
 * @throws {ProtocolError} on bad UTF-8, bad JSON, or a message that fits no schema.
 */
export function decodeMessage(
  body: Uint8Array,
  opOf?: (id: number) => Op | undefined,
): Message {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(body));
  } catch (error) {
    throw new ProtocolError("message is not valid UTF-8 JSON", { cause: error });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError("message is not a JSON object");
  }
  const record = value as Record<string, unknown>;
  switch (record.t) {
    case "req": {
      requireId(record);
      const op = record.op;
      if (typeof op !== "string" || !Object.hasOwn(REQUESTS, op)) {
        throw new ProtocolError(`unknown request op ${JSON.stringify(op)}`);
      }
      check(record, REQUESTS[op as Op], `request ${op}`);
      return value as Message;
    }
    case "res": {
      requireId(record);
      if (record.ok === true) {
        const op = opOf?.(record.id as number);
        if (op) check(record, RESULTS[op], `result of ${op}`);
      } else if (record.ok === false) {
        if (!isErrorCode(record.error)) {
          throw new ProtocolError(`unknown error code ${JSON.stringify(record.error)}`);
        }
        if (typeof record.message !== "string") {
          throw new ProtocolError("error response has no message");
        }
      } else {
        throw new ProtocolError("response has no boolean ok");
      }
      return value as Message;
    }
    case "push": {
      const event = record.event;
      if (typeof event !== "string" || !Object.hasOwn(PUSHES, event)) {
        throw new ProtocolError(`unknown push event ${JSON.stringify(event)}`);
      }
      check(record, PUSHES[event as keyof typeof PUSHES], `push ${event}`);
      return value as Message;
    }
    default:
      throw new ProtocolError(`unknown message type ${JSON.stringify(record.t)}`);
  }
}

function requireId(record: Record<string, unknown>): void {
  const id = record.id;
  if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > 0xffff_ffff) {
    throw new ProtocolError("message id is not an integer 0..2^32-1");
  }
}

function check(
  record: Record<string, unknown>,
  schema: Parameters<typeof schemaProblem>[1],
  what: string,
) {
  if (!schemaFits(record, schema)) {
    throw new ProtocolError(`${what}: ${schemaProblem(record, schema)}`);
  }
}
