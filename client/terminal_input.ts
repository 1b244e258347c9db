/**
 * The edge's line editor on a terminal, built on Node's `node:readline` (it runs under
 * Deno): history (Up/Down), Left/Right/Home/End and the other readline keys, Tab
 * completion, Ctrl-D on an empty line to end. On top of readline it keeps a status area
 * (progress lines) between the output and the prompt, and prints output that arrives while
 * a line is typed above the status area, redrawing the status and the typed line (wrapped
 * over several rows or not) below it, cursor kept. Ctrl-C clears a typed line; on an empty
 * line it goes to the interrupt handler (the edge cancels what runs in the foreground).
 *
 * @module
 */

import { writeAllSync } from "./line_input.ts";
import {
  clearScreenDown,
  createInterface,
  cursorTo,
  type Interface,
  moveCursor,
} from "node:readline";
import type { Readable, Writable } from "node:stream";
import type { Completer, LineInput, ReadOptions } from "./line_input.ts";

/** Lines kept in the history (Up/Down). */
export const HISTORY_LINES = 1000;

/** The streams of a terminal: `process.stdin` and `process.stdout` (or `stderr`). */
export interface TerminalStreams {
  input: Readable;
  /** The terminal: prompts, what is typed, and printed lines unless `results` is given. */
  output: Writable & { columns?: number };
  /**
   * Where printed lines go when that is not the terminal (stdout piped, `| tee log`): the
   * prompt and the typed line stay on the terminal, the lines go here, escape-free.
   */
  results?: { writeSync(p: Uint8Array): number };
}

interface Reading {
  prompt: string;
  secret: boolean;
  /** Kept out of the history. */
  unrecorded: boolean;
  complete: Completer | undefined;
  resolve(line: string | null): void;
}

/** readline's fields this file reads or resets; they are not in its typings. */
interface ReadlineInternals {
  line: string;
  cursor: number;
  history: string[];
  _writeToOutput(text: string): void;
}

/** Line input from a terminal, with an editor, history, completion and a status area. */
export class TerminalInput implements LineInput {
  readonly #rl: Interface;
  readonly #internals: ReadlineInternals;
  readonly #out: Writable & { columns?: number };
  readonly #results: { writeSync(p: Uint8Array): number } | undefined;
  readonly #writeToOutput: (text: string) => void;
  #reading: Reading | undefined;
  /** Lines entered while no line was being read, oldest first. */
  readonly #typeAhead: string[] = [];
  /** Progress lines by key, shown between the output and the prompt. */
  readonly #status = new Map<string, string>();
  /** Rows of the status area now on screen. */
  #statusRows = 0;
  #ended = false;
  /** Called on Ctrl-C when no typed line is there to clear. */
  onInterrupt: (() => void) | undefined;

  constructor(streams: TerminalStreams) {
    this.#out = streams.output;
    this.#results = streams.results;
    this.#rl = createInterface({
      input: streams.input,
      output: streams.output,
      terminal: true,
      historySize: HISTORY_LINES,
      removeHistoryDuplicates: true,
      completer: (line: string): [string[], string] =>
        this.#reading?.complete?.(line) ?? [[], line],
    });
    this.#internals = this.#rl as unknown as ReadlineInternals;
    // readline draws the prompt and the typed line through this method: only while a
    // line is read that is not secret. A secret line's prompt is written here, directly;
    // keys typed while a command runs are kept and shown at the next prompt.
    const write = this.#internals._writeToOutput.bind(this.#rl);
    this.#writeToOutput = write;
    this.#internals._writeToOutput = (text) => {
      if (this.#drawn) write(text);
    };
    this.#rl.setPrompt("");
    streams.input.prependListener("keypress", (_text: string, key?: { name?: string }) => {
      if (key?.name === "return" || key?.name === "enter") this.#enter();
    });
    this.#rl.on("line", (line: string) => this.#entered(line));
    this.#rl.on("SIGINT", () => this.#interrupted());
    this.#rl.on("close", () => {
      this.#ended = true;
      this.#finish(null);
    });
  }

  read(prompt: string, options: ReadOptions = {}): Promise<string | null> {
    const early = this.#typeAhead.shift();
    if (early !== undefined) {
      // Entered while a command ran (not shown then): shown now, at its prompt.
      this.#redraw(`${prompt}${options.secret ? "" : early}\n`);
      return Promise.resolve(early);
    }
    if (this.#ended) return Promise.resolve(null);
    const { promise, resolve } = Promise.withResolvers<string | null>();
    const secret = options.secret ?? false;
    const unrecorded = secret || (options.unrecorded ?? false);
    this.#redraw("", {
      reading: { prompt, secret, unrecorded, complete: options.complete, resolve },
    });
    return promise;
  }

  print(text: string): void {
    if (this.#results) {
      writeAllSync(this.#results, `${text}\n`);
      return this.#redraw("");
    }
    this.#redraw(`${text}\n`);
  }

  status(key: string, text: string | undefined): void {
    if (text === undefined) {
      if (!this.#status.delete(key)) return;
    } else {
      this.#status.set(key, text);
    }
    this.#redraw("");
  }

  close(): void {
    if (this.#ended) return;
    this.#status.clear();
    this.#redraw("");
    this.#ended = true;
    this.#finish(null);
    this.#rl.close();
  }

  /**
   * Rewrites the screen from the top of the status area down: `above` (output ending in a
   * newline, or nothing), the status lines, then the prompt and the typed line. readline's
   * own redraw moves up as many rows as the cursor was down the typed line, so as many
   * blank rows are written for it to land on the right one.
   */
  #redraw(
    above: string,
    options: { clearLine?: boolean; hideStatus?: boolean; reading?: Reading } = {},
  ): void {
    if (this.#ended) return void this.#out.write(above);
    // Measured before anything changes: where readline drew the line last.
    const rows = this.#drawn ? this.#rl.getCursorPos().rows : 0;
    moveCursor(this.#out, 0, -(rows + this.#statusRows));
    cursorTo(this.#out, 0);
    clearScreenDown(this.#out);
    if (options.reading) {
      this.#reading = options.reading;
      this.#rl.setPrompt(this.#drawn ? options.reading.prompt : "");
    }
    if (options.clearLine) {
      this.#internals.line = "";
      this.#internals.cursor = 0;
    }
    const width = Math.max(1, (this.#out.columns ?? 80) - 1);
    const status = options.hideStatus
      ? []
      : [...this.#status.values()].map((line) => `${line.slice(0, width)}\n`);
    this.#statusRows = status.length;
    this.#out.write(`${above}${status.join("")}${"\n".repeat(rows)}`);
    if (this.#drawn) this.#rl.prompt(true);
    else this.#writeToOutput(this.#reading?.prompt ?? "");
  }

  /**
   * Enter, before readline takes the line: the status area is taken off the screen, so
   * that the line stays where it was typed, above the status area when it comes back.
   */
  #enter(): void {
    if (this.#statusRows > 0) this.#redraw("", { hideStatus: true });
  }

  #entered(line: string): void {
    const reading = this.#reading;
    // A password, or a device name typed at login, never goes into the history.
    if (reading?.unrecorded && this.#internals.history[0] === line) {
      this.#internals.history.shift();
    }
    if (reading?.secret) this.#writeToOutput("\n");
    if (!reading) this.#typeAhead.push(line);
    else this.#finish(line);
  }

  /**
   * Ctrl-C: a typed line is cleared (left on screen with `^C`, as a shell does); with none,
   * or while a command runs (keys typed meanwhile are dropped), the interrupt handler.
   */
  #interrupted(): void {
    const reading = this.#reading;
    const typed = this.#internals.line;
    if (reading && typed !== "") {
      const shown = reading.secret ? "" : typed;
      return this.#redraw(`${reading.prompt}${shown}^C\n`, { clearLine: true });
    }
    this.#internals.line = "";
    this.#internals.cursor = 0;
    if (this.onInterrupt) this.onInterrupt();
    else this.print("(Ctrl-C clears a typed line; Ctrl-D on an empty line ends)");
  }

  /** Whether readline shows the line being typed. */
  get #drawn(): boolean {
    return this.#reading !== undefined && !this.#reading.secret;
  }

  #finish(line: string | null): void {
    const reading = this.#reading;
    this.#reading = undefined;
    if (!this.#ended) this.#rl.setPrompt("");
    reading?.resolve(line);
  }
}
