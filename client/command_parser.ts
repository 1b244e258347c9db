/**
 * Turns a line typed at the edge prompt into a typed command, or into a specific usage
 * message; pure, so every malformed command is caught before anything is sent.
 * Command words are case-insensitive (`EDG`, `edg`); arguments are separated by spaces.
 *
 * @module
 */

import { isOperation, type Operation, OPERATIONS } from "../protocol/compute.ts";
import { MAX_FILE_ID, MAX_GENERATE_SAMPLES } from "../protocol/limits.ts";

/** A command the edge understands. */
export type EdgeCommand =
  | { cmd: "EDG"; fileID: number; dataAmount: number }
  | { cmd: "UED"; fileID: number }
  | { cmd: "SCS"; fileID: number; operation: Operation }
  | { cmd: "DTE"; fileID: number }
  | { cmd: "AED" }
  | { cmd: "UVF"; device: string; filename: string }
  | { cmd: "OUT" }
  | { cmd: "HELP" }
  | { cmd: "MESSAGE"; device: string; text: string }
  | { cmd: "BROADCAST"; text: string }
  | { cmd: "WHOELSE" }
  | { cmd: "WHOELSESINCE"; seconds: number }
  | { cmd: "BLOCK"; device: string }
  | { cmd: "UNBLOCK"; device: string }
  | { cmd: "STARTPRIVATE"; device: string }
  | { cmd: "PRIVATE"; device: string; text: string }
  | { cmd: "STOPPRIVATE"; device: string };

/** The result of parsing a line. */
export type ParsedLine =
  | { ok: true; command: EdgeCommand }
  | { ok: false; cmd: string; message: string };

/** Usage line of each command, as shown by `help`. */
export const USAGE = {
  EDG: "EDG fileID dataAmount   generate dataAmount random integers into <name>-<fileID>.txt",
  UED: "UED fileID              upload <name>-<fileID>.txt to the server",
  SCS: `SCS fileID OP           compute OP (${OPERATIONS.join(", ")}) over an uploaded file`,
  DTE: "DTE fileID              delete an uploaded file from the server",
  AED: "AED                     list the other active edge devices",
  UVF: "UVF device filename     send a file to another active device, peer to peer",
  OUT: "OUT                     log out (also: logout)",
  MESSAGE: "message device text     send text to a device (stored if it is offline)",
  BROADCAST: "broadcast text          send text to every online device",
  WHOELSE: "whoelse                 list the other online devices",
  WHOELSESINCE: "whoelsesince seconds    list devices online at any time in the last seconds",
  BLOCK: "block device            stop a device from messaging or seeing you",
  UNBLOCK: "unblock device          lift a block",
  STARTPRIVATE: "startprivate device     ask a device for a private (peer-to-peer) chat",
  PRIVATE: "private device text     send text over an accepted private chat",
  STOPPRIVATE: "stopprivate device      end a private chat",
  HELP: "help                    show this list",
} as const;

/** Command words and their aliases. */
const ALIASES: Record<string, EdgeCommand["cmd"]> = {
  EDG: "EDG",
  UED: "UED",
  SCS: "SCS",
  DTE: "DTE",
  AED: "AED",
  UVF: "UVF",
  OUT: "OUT",
  LOGOUT: "OUT",
  HELP: "HELP",
  MESSAGE: "MESSAGE",
  BROADCAST: "BROADCAST",
  WHOELSE: "WHOELSE",
  WHOELSESINCE: "WHOELSESINCE",
  BLOCK: "BLOCK",
  UNBLOCK: "UNBLOCK",
  STARTPRIVATE: "STARTPRIVATE",
  PRIVATE: "PRIVATE",
  STOPPRIVATE: "STOPPRIVATE",
};

/**
 * Parses one line.
 *
 * @example
 * ```ts
 * import { parseCommand } from "./command_parser.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseCommand("SCS 3 SUM"), {
 *   ok: true,
 *   command: { cmd: "SCS", fileID: 3, operation: "SUM" },
 * });
 * assert.equal(parseCommand("SCS x SUM").ok, false);
 * ```
 */
export function parseCommand(line: string): ParsedLine {
  const words = line.trim().split(/\s+/).filter((w) => w !== "");
  const word = words[0] ?? "";
  const cmd = ALIASES[word.toUpperCase()];
  if (!cmd) {
    return {
      ok: false,
      cmd: word.toUpperCase(),
      message: word === ""
        ? "type a command; `help` lists them"
        : `unknown command ${JSON.stringify(word.slice(0, 40))}; \`help\` lists the commands`,
    };
  }
  const args = words.slice(1);
  const fail = (message: string): ParsedLine => ({
    ok: false,
    cmd,
    message: `${message}. Usage: ${USAGE[cmd as keyof typeof USAGE].split(/\s{2,}/)[0]}`,
  });
  const expect = (count: number, what: string): ParsedLine | undefined => {
    if (args.length < count) return fail(`${cmd} needs ${what}`);
    if (args.length > count) {
      return fail(count === 0 ? `${cmd} takes no arguments` : `${cmd} takes only ${what}`);
    }
    return undefined;
  };
  const fileIDProblem = (text: string) => {
    const problem = integerProblem(text, "fileID", 0, MAX_FILE_ID);
    return problem ? fail(problem) : undefined;
  };

  switch (cmd) {
    case "EDG": {
      const bad = expect(2, "a fileID and a dataAmount") ?? fileIDProblem(args[0]!);
      if (bad) return bad;
      const amountProblem = integerProblem(args[1]!, "dataAmount", 1, MAX_GENERATE_SAMPLES);
      if (amountProblem) return fail(amountProblem);
      return { ok: true, command: { cmd, fileID: Number(args[0]), dataAmount: Number(args[1]) } };
    }
    case "UED":
    case "DTE": {
      const bad = expect(1, "a fileID") ?? fileIDProblem(args[0]!);
      return bad ?? { ok: true, command: { cmd, fileID: Number(args[0]) } };
    }
    case "SCS": {
      const bad = expect(2, "a fileID and an operation") ?? fileIDProblem(args[0]!);
      if (bad) return bad;
      const operation = args[1]!.toUpperCase();
      if (!isOperation(operation)) {
        return fail(
          `operation must be one of ${OPERATIONS.join(", ")}, not ${
            JSON.stringify(args[1]!.slice(0, 20))
          }`,
        );
      }
      return { ok: true, command: { cmd, fileID: Number(args[0]), operation } };
    }
    case "UVF": {
      const bad = expect(2, "a device name and a file name");
      return bad ?? { ok: true, command: { cmd, device: args[0]!, filename: args[1]! } };
    }
    case "AED":
    case "OUT":
    case "HELP":
    case "WHOELSE":
      return expect(0, "") ?? { ok: true, command: { cmd } };
    case "MESSAGE":
    case "PRIVATE": {
      if (args.length < 2) return fail(`${cmd.toLowerCase()} needs a device name and some text`);
      return { ok: true, command: { cmd, device: args[0]!, text: textAfter(line, 2) } };
    }
    case "BROADCAST":
      if (args.length < 1) return fail("broadcast needs some text");
      return { ok: true, command: { cmd, text: textAfter(line, 1) } };
    case "WHOELSESINCE": {
      const bad = expect(1, "a number of seconds");
      if (bad) return bad;
      const problem = integerProblem(args[0]!, "seconds", 0, MAX_SINCE_SECONDS);
      return problem ? fail(problem) : { ok: true, command: { cmd, seconds: Number(args[0]) } };
    }
    case "BLOCK":
    case "UNBLOCK":
    case "STARTPRIVATE":
    case "STOPPRIVATE": {
      const bad = expect(1, "a device name");
      return bad ?? { ok: true, command: { cmd, device: args[0]! } };
    }
  }
}

/** Longest look-back of `whoelsesince`, in seconds (ten years). */
const MAX_SINCE_SECONDS = 10 * 365 * 24 * 3600;

/** The rest of `line` after its first `words` words, spacing inside kept as typed. */
function textAfter(line: string, words: number): string {
  let rest = line.trimStart();
  for (let i = 0; i < words; i++) rest = rest.replace(/^\S+\s*/, "");
  return rest.trimEnd();
}

function integerProblem(text: string, name: string, min: number, max: number): string | undefined {
  if (!/^-?\d+$/.test(text)) {
    return `${name} must be an integer, not ${JSON.stringify(text.slice(0, 20))}`;
  }
  const value = Number(text);
  if (value < min || value > max) return `${name} must be ${min}..${max}, not ${text}`;
  return undefined;
}
