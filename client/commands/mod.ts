/**
 * The edge's command table: every command typed at the prompt, in the order `help` lists
 * them. The parser (`command_parser.ts`), the command list and the dispatch
 * (`run_command.ts`) all read it, so adding a command is adding its entry here (and its
 * handler on the server).
 *
 * @module
 */

import { BadArgumentsError } from "../../protocol/errors.ts";
import type { AnyTypedCommandSpec, CommandOf, SuccessOf, TypedCommandSpec } from "./command.ts";
import { aed, dte, edg, scs, ued } from "./iot.ts";
import { out } from "./logout.ts";
import { block, broadcast, message, unblock, whoelse, whoelsesince } from "./messaging.ts";
import { type answer, privateMessage, startprivate, stopprivate } from "./private_chat.ts";
import { uvf } from "./transfer.ts";

/** help: the command list, or one command's entry. */
const help: TypedCommandSpec<"HELP", { command?: string }, { command?: string }> = {
  word: "HELP",
  synopsis: "help [command]",
  summary: "show this list, or how to use one command",
  parse(args) {
    if (args.count === 0) return {};
    args.expect(1, "at most one command");
    const word = args.arg(0);
    const spec = commandNamed(word);
    if (!spec) {
      throw new BadArgumentsError(
        `there is no command ${JSON.stringify(word.slice(0, 40))}; \`help\` lists them`,
      );
    }
    return { command: spec.word };
  },
  run: (_env, args) => Promise.resolve(args),
  render: ({ command }) => {
    const spec = command === undefined ? undefined : commandNamed(command);
    return spec ? entryText(spec) : helpText();
  },
  json: () => ({}),
};

/** Every command typed at the prompt, in the order of the command list. */
export const COMMANDS = [
  edg,
  ued,
  scs,
  dte,
  aed,
  uvf,
  out,
  message,
  broadcast,
  whoelse,
  whoelsesince,
  block,
  unblock,
  startprivate,
  privateMessage,
  stopprivate,
  help,
] as const;

/** A command typed at the prompt, parsed: its word as `cmd`, and its arguments. */
export type EdgeCommand = CommandOf<typeof COMMANDS[number]>;
/** A command the edge runs: a typed one, or the answer to a private-chat request. */
export type RunnableCommand = EdgeCommand | CommandOf<typeof answer>;
/** A successful result of any command, as printed. */
export type CommandSuccess = SuccessOf<typeof COMMANDS[number] | typeof answer>;

/** Command word or alias (upper case) → its entry. */
const BY_WORD: ReadonlyMap<string, AnyTypedCommandSpec> = new Map(
  COMMANDS.flatMap((spec) =>
    [spec.word, ...(spec.aliases ?? [])].map((word) => [word, spec as AnyTypedCommandSpec])
  ),
);

/**
 * The entry a typed word names, in any case.
 *
 * @param word the word as typed.
 * @returns the entry, or `undefined` for no command.
 */
export function commandNamed(word: string): AnyTypedCommandSpec | undefined {
  return BY_WORD.get(word.toUpperCase());
}

/** Column where the summaries of the command list start. */
const SUMMARY_COLUMN = 24;

/** The command list, as `help` and the welcome show it. */
export function helpText(): string {
  return ["Commands:", ...COMMANDS.map(entryText)].join("\n");
}

/** One command's line of the command list. */
function entryText(spec: AnyTypedCommandSpec): string {
  const aliases = spec.aliases?.length
    ? ` (also: ${spec.aliases.map((a) => a.toLowerCase()).join(", ")})`
    : "";
  return `  ${spec.synopsis.padEnd(SUMMARY_COLUMN)}${spec.summary}${aliases}`;
}
