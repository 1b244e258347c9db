/**
 * The server's events that the operator follows: logins and logouts, failed logins,
 * lockouts, new accounts, uploads, deletes and refused connections, as one union. Each is
 * recorded once ({@linkcode ServerContext.record}): it becomes the server's log line
 * ({@linkcode describeServerEvent}, the same words the log always had) and an entry of the
 * dashboard's event feed (`server/http/event_feed.ts`).
 *
 * @module
 */

import { deviceNameProblem } from "../protocol/limits.ts";
import type { RefusalReason } from "./http/server_metrics.ts";
import type { LeaveCode } from "./session.ts";

/** Longest part of a name that is not a device name kept in an event (and its log line). */
export const MAX_SHOWN_NAME_CHARS = 40;

/** One event. `name` of `login_failed` is what the peer sent (cut): it may hold anything. */
export type ServerEvent =
  | { kind: "login"; device: string; ip: string; udpPort: number }
  | { kind: "logout"; device: string; reason: LeaveCode; detail: string }
  | { kind: "login_failed"; name: string; ip: string; result: "bad_credentials" | "blocked" }
  | { kind: "lockout"; device: string; ip: string; seconds: number; failures: number }
  | { kind: "registered"; device: string; ip: string }
  | { kind: "upload"; device: string; fileID: number; samples: number; bytes: number }
  | { kind: "delete"; device: string; fileID: number }
  | { kind: "refused"; ip: string; reason: RefusalReason; detail: string };

/** The kinds of {@linkcode ServerEvent}, in the order the feed page offers them. */
export const SERVER_EVENT_KINDS = [
  "login",
  "logout",
  "login_failed",
  "lockout",
  "registered",
  "upload",
  "delete",
  "refused",
] as const satisfies readonly ServerEvent["kind"][];

/**
 * A failed login's event: the name cut to {@linkcode MAX_SHOWN_NAME_CHARS} when it is not a
 * device name (it is a stranger's text).
 */
export function loginFailedEvent(
  name: string,
  fields: { ip: string; result: "bad_credentials" | "blocked" },
): ServerEvent {
  const shown = deviceNameProblem(name) ? name.slice(0, MAX_SHOWN_NAME_CHARS) : name;
  return { kind: "login_failed", name: shown, ...fields };
}

/**
 * The log line of an event: one sentence, without the time (the log adds it).
 *
 * @example
 * ```ts
 * import { describeServerEvent, loginFailedEvent } from "./server_event.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   describeServerEvent({ kind: "login", device: "watch1", ip: "127.0.0.1", udpPort: 9 }),
 *   "watch1 joined from 127.0.0.1, UDP port 9",
 * );
 * assert.equal(
 *   describeServerEvent(loginFailedEvent("<b>", { ip: "127.0.0.1", result: "bad_credentials" })),
 *   'failed login as "<b>" from 127.0.0.1 (bad_credentials)',
 * );
 * ```
 */
export function describeServerEvent(event: ServerEvent): string {
  switch (event.kind) {
    case "login":
      return `${event.device} joined from ${event.ip}, UDP port ${event.udpPort}`;
    case "logout":
      return `${event.device} left (${event.detail})`;
    case "login_failed": {
      // A name that is not a device name is a stranger's text: quoted, so it reads as one.
      const name = deviceNameProblem(event.name) ? JSON.stringify(event.name) : event.name;
      return `failed login as ${name} from ${event.ip} (${event.result})`;
    }
    case "lockout":
      return `${event.device} is locked out for ${event.seconds} s after ${event.failures} ` +
        `failed logins in a row (the last from ${event.ip})`;
    case "registered":
      return `${event.device} registered a new account from ${event.ip}`;
    case "upload":
      return `${event.device} uploaded file ${event.fileID} (${event.samples} samples, ` +
        `${event.bytes} bytes)`;
    case "delete":
      return `${event.device} deleted file ${event.fileID}`;
    case "refused":
      return `refused a connection from ${event.ip}: ${event.detail}`;
  }
}
