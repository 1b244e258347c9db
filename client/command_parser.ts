/**
 * Turns a line typed at the edge prompt into a typed command, or into a specific usage
 * message; pure, so every malformed command is caught before anything is sent. The
 * command words, their aliases and how each reads its arguments come from the command
 * table (`commands/mod.ts`). Command words are case-insensitive (`EDG`, `edg`);
 * arguments are separated by spaces.
 *
 * @module
 */

import { BadArgumentsError } from "../protocol/errors.ts";
import { CommandArguments } from "./commands/arguments.ts";
import { commandNamed, type EdgeCommand } from "./commands/mod.ts";

export type { EdgeCommand };

/** The result of parsing a line. */
export type ParsedLine =
  | { ok: true; command: EdgeCommand }
  | { ok: false; cmd: string; error: "unknown_command" | "bad_args"; message: string };

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
 *
 * @param line the line as typed.
 * @returns the command, or the word typed and what is wrong with the line.
 */
export function parseCommand(line: string): ParsedLine {
  const words = line.trim().split(/\s+/).filter((w) => w !== "");
  const word = words[0] ?? "";
  const spec = commandNamed(word);
  if (!spec) {
    return {
      ok: false,
      cmd: word.toUpperCase(),
      error: "unknown_command",
      message: word === ""
        ? "type a command; `help` lists them"
        : `unknown command ${JSON.stringify(word.slice(0, 40))}; \`help\` lists the commands`,
    };
  }
  try {
    const args = spec.parse(new CommandArguments(spec.word, line, words.slice(1)));
    return { ok: true, command: { cmd: spec.word, ...args } as EdgeCommand };
  } catch (error) {
    if (!(error instanceof BadArgumentsError)) throw error;
    return {
      ok: false,
      cmd: spec.word,
      error: "bad_args",
      message: `${error.message}. Usage: ${spec.synopsis}`,
    };
  }
}
