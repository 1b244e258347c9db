/**
 * What the edge prints: command results and asynchronous events, as human text or as
 * one JSON object per line (`--json`, SPEC §5). The JSON is the objects themselves, so
 * the schema in `docs/JSON.md` is exactly these types.
 *
 * @module
 */

import { visible } from "../internal/mod.ts";
import type { ErrorCode } from "../protocol/errors.ts";
import type { PushFields } from "../protocol/messages.ts";
import type { CommandSuccess } from "./commands/mod.ts";
import type { LineInput } from "./line_input.ts";

/**
 * An error code the edge prints: the server's codes, and the edge's own: `disconnected`
 * (a command given while the link to the server is down), `unknown_command` (a word that
 * is no command).
 */
export type EdgeErrorCode = ErrorCode | "disconnected" | "unknown_command";

/** A command that failed, as printed; `cmd` is the word typed, even an unknown one. */
export type CommandFailure = {
  cmd: string;
  ok: false;
  error: EdgeErrorCode;
  message: string;
  /** The device an answer to a private-chat request named (`ANSWER`). */
  device?: string;
};

/** The result of one command, as printed: a union over the command table. */
export type CommandResult = CommandSuccess | CommandFailure;

/**
 * A result as printed: a command run in the background (UVF) reports late, so its result
 * says which command it answers: `seq` (the command's number among the command lines
 * read, from 1) and `command` (the line as typed).
 */
export type CommandReport = CommandResult & { seq?: number; command?: string };

/** Something that happened without being asked for. */
export type EdgeEvent =
  | { event: "login"; ok: true; message: string; device: string; registered: boolean }
  | { event: "login"; ok: false; message: string; error: EdgeErrorCode }
  | { event: "presence"; message: string } & PushFields<"presence">
  | {
    event: "message";
    from: string;
    text: string;
    kind: PushFields<"message">["kind"] | "private";
    /** When a stored (`offline`) message was sent, ISO 8601. */
    sentAt?: string;
    message: string;
  }
  | { event: "file"; from: string; path: string; bytes: number; message: string }
  | { event: "file"; ok: false; from: string; error: string; message: string }
  | {
    event: "private";
    device: string;
    state: PushFields<"private">["state"];
    reason?: Extract<PushFields<"private">, { state: "ended" }>["reason"];
    message: string;
  }
  | {
    event: "logout";
    reason: PushFields<"logout">["reason"] | "connection_lost" | "login_refused";
    message: string;
  }
  | { event: "connection"; state: "lost"; reason: string; message: string }
  | { event: "connection"; state: "restored"; message: string };

/** Prints results and events. */
export interface Output {
  /** True in `--json` mode. */
  readonly json: boolean;
  result(result: CommandReport): void;
  event(event: EdgeEvent): void;
  /** Human-only text (banners, the command list); dropped in `--json` mode. */
  info(text: string): void;
}

/** Options of {@linkcode createOutput}. */
export interface OutputOptions {
  json: boolean;
  /** Colour human output (a terminal, and `NO_COLOR` unset). */
  color: boolean;
}

/** Builds the output for the chosen mode over a line input (which owns the terminal). */
export function createOutput(input: LineInput, options: OutputOptions): Output {
  const paint = (code: number, text: string) =>
    options.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  if (options.json) {
    return {
      json: true,
      result: (r) => input.print(JSON.stringify(r)),
      event: (e) => input.print(JSON.stringify(e)),
      info: () => {},
    };
  }
  // Every part from the network was made visible where the message was composed; this
  // is the backstop: whatever a message holds, nothing but its own line breaks reaches
  // the terminal.
  const shown = (text: string) => visible(text, { keepNewlines: true });
  return {
    json: false,
    // Every failure, a command's or an event's (a login refused, a file not received),
    // reads the same: `Error: ` and the message, in red.
    result: (r) => input.print(r.ok ? shown(r.message) : paint(31, `Error: ${shown(r.message)}`)),
    event: (e) => {
      const failed = "ok" in e && !e.ok;
      input.print(failed ? paint(31, `Error: ${shown(e.message)}`) : paint(36, shown(e.message)));
    },
    info: (text) => input.print(shown(text)),
  };
}
