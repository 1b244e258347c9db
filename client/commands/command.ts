/**
 * What one edge command is: an entry of the command table (`mod.ts`) that says how it is
 * typed (word, aliases, synopsis), how its arguments are read, what it does, and how its
 * outcome is shown to people and in `--json`. The parser, the help text and the dispatch
 * all read these entries, so a new command is its entry (plus the server's handler).
 *
 * @module
 */

import type { ServerLink } from "../server_link.ts";
import type { ChatRequests } from "../chat_requests.ts";
import type { PeerLink } from "../peer.ts";
import type { Progress } from "../progress.ts";
import type { CommandArguments } from "./arguments.ts";

/** What commands run against. */
export interface CommandEnv {
  /** Requests to the server (they fail at once with `DisconnectedError` while it is down). */
  readonly connection: Pick<ServerLink, "request" | "upload">;
  /** This device's name. */
  readonly device: string;
  /** Where data files are generated and received files land. */
  readonly dir: string;
  /** The peer channel (UVF, private chat). */
  readonly peer: PeerLink;
  /** Private-chat requests from other devices, waiting for a y/n answer. */
  readonly chatRequests: ChatRequests;
  /** Makes a progress reporter for a long transfer (UED, UVF). */
  progress(label: string): Progress;
  /** Aborted when the user cancels the command (Ctrl-C, for a `cancellable` one). */
  readonly signal?: AbortSignal;
}

/**
 * What a command does and how its outcome is shown. `Outcome` is what `run` found out;
 * `Fields` what `--json` shows of it after `cmd`, `ok` and `message` (the outcome itself
 * unless `json` picks from it).
 */
export interface CommandSpec<Word extends string, Args, Outcome, Fields = Outcome> {
  /** The command word in upper case; also `cmd` in results. */
  readonly word: Word;
  /**
   * Runs in the background, the prompt staying free, and reports when done: `always`
   * (UVF), or only at a terminal (UED: a script's next line may need the upload done).
   */
  readonly background?: "always" | "terminal";
  /** Ctrl-C at the terminal cancels it while it runs (UED). */
  readonly cancellable?: true;
  /**
   * Does the work. The outcome is built field by field, never a server's result passed
   * on whole: a result may carry fields its schema does not list, and `--json` would show
   * them.
   *
   * @throws {Error} any failure: a `RequestError` keeps its code in the result, others
   *   are given one by `failure()` in `run_command.ts`.
   */
  run(env: CommandEnv, args: Args): Promise<Outcome>;
  /** The text a person sees on success (also `message` in `--json`). */
  render(outcome: Outcome, args: Args): string;
  /** What `--json` shows of a success besides `cmd`, `ok` and `message`. */
  json?(outcome: Outcome): Fields;
  /** Fields a failed result carries besides `cmd`, `ok`, `error` and `message`. */
  failureFields?(args: Args): Record<string, unknown>;
}

/** A command typed as a word at the prompt: an entry of the command table. */
export interface TypedCommandSpec<Word extends string, Args, Outcome, Fields = Outcome>
  extends CommandSpec<Word, Args, Outcome, Fields> {
  /** Other words for it, upper case. */
  readonly aliases?: readonly string[];
  /** How it is typed, e.g. `EDG fileID dataAmount`; quoted after a usage mistake. */
  readonly synopsis: string;
  /** What it does, for the command list. */
  readonly summary: string;
  /**
   * Reads the arguments typed after the word.
   *
   * @throws {BadArgumentsError} naming what is missing or wrong (the parser adds the
   *   synopsis).
   */
  parse(args: CommandArguments): Args;
}

/** The arguments of a command that takes none. */
export type NoArgs = Record<never, never>;

/** The arguments of a command that names a device. */
export interface DeviceArgs {
  device: string;
}

/** Any command. */
// deno-lint-ignore no-explicit-any -- a table of commands whose argument types all differ
export type AnyCommandSpec = CommandSpec<string, any, any, unknown>;
/** Any entry of the command table. */
// deno-lint-ignore no-explicit-any -- a table of commands whose argument types all differ
export type AnyTypedCommandSpec = TypedCommandSpec<string, any, any, unknown>;

/** The arguments of a command, with `cmd` as parsed commands carry them. */
export type CommandOf<S> = S extends CommandSpec<infer W, infer A, infer _O, infer _F>
  ? { cmd: W } & A
  : never;

/** The successful result of a command, as printed. */
export type SuccessOf<S> = S extends CommandSpec<infer W, infer _A, infer _O, infer F>
  ? { cmd: W; ok: true; message: string } & F
  : never;
