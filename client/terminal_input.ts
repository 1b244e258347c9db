/**
 * A small line editor for a terminal in raw mode: typing, backspace, Ctrl-U, Enter,
 * Ctrl-D (end on an empty line) and Ctrl-C (end). Output printed while a line is being
 * typed appears above it and the prompt and typed text are redrawn, so a message that
 * arrives mid-command never corrupts what the user is typing.
 *
 * @module
 */

import { type LineInput, type ReadOptions, writeAllSync } from "./line_input.ts";

const CTRL_C = 0x03;
const CTRL_D = 0x04;
const BACKSPACE = 0x08;
const CTRL_U = 0x15;
const ESCAPE = 0x1b;
const DELETE = 0x7f;
const CLEAR_LINE = "\r\x1b[2K";

interface Reading {
  prompt: string;
  secret: boolean;
  line: string;
  resolve(line: string | null): void;
}

/** Options of {@linkcode TerminalInput}. */
export interface TerminalInputOptions {
  /**
   * Where printed lines go when it is not the terminal (stdout piped, `| tee log`): the
   * prompt and what is typed stay on the terminal, the lines go here, escape-free.
   */
  results?: { writeSync(p: Uint8Array): number };
}

/** Line input from a terminal (`Deno.stdin` with `setRaw`). */
export class TerminalInput implements LineInput {
  readonly #stdin: typeof Deno.stdin;
  readonly #out: { writeSync(p: Uint8Array): number };
  readonly #results: { writeSync(p: Uint8Array): number } | undefined;
  readonly #decoder = new TextDecoder();
  #reading: Reading | undefined;
  /** Keys typed while no line was being read. */
  #typeAhead: number[] = [];
  #pump: Promise<void> | undefined;
  #ended = false;
  #escape = false;

  /**
   * @param stdin the terminal's input.
   * @param out the terminal: prompts, echo, and printed lines unless `results` is given.
   */
  constructor(
    stdin: typeof Deno.stdin,
    out: { writeSync(p: Uint8Array): number },
    options: TerminalInputOptions = {},
  ) {
    this.#stdin = stdin;
    this.#out = out;
    this.#results = options.results === out ? undefined : options.results;
  }

  read(prompt: string, options: ReadOptions = {}): Promise<string | null> {
    if (this.#ended) return Promise.resolve(null);
    this.#stdin.setRaw(true);
    const { promise, resolve } = Promise.withResolvers<string | null>();
    this.#reading = { prompt, secret: options.secret ?? false, line: "", resolve };
    this.#write(prompt);
    const typed = this.#typeAhead;
    this.#typeAhead = [];
    for (const byte of typed) this.#key(byte);
    this.#pump ??= this.#pumpKeys();
    return promise;
  }

  print(text: string): void {
    const r = this.#reading;
    if (this.#results) {
      if (r) this.#write(CLEAR_LINE);
      writeAllSync(this.#results, `${text}\n`);
      if (r) this.#write(`${r.prompt}${r.secret ? "" : r.line}`);
      return;
    }
    const lines = text.replaceAll("\n", "\r\n");
    if (!r) return this.#write(`${lines}\r\n`);
    this.#write(`${CLEAR_LINE}${lines}\r\n${r.prompt}${r.secret ? "" : r.line}`);
  }

  close(): void {
    this.#ended = true;
    this.#finish(null);
    try {
      this.#stdin.setRaw(false);
    } catch {
      // stdin already closed
    }
  }

  async #pumpKeys(): Promise<void> {
    const buffer = new Uint8Array(1024);
    while (!this.#ended) {
      const n = await this.#stdin.read(buffer);
      if (n === null) {
        this.#ended = true;
        this.#finish(null);
        break;
      }
      for (const byte of buffer.subarray(0, n)) {
        if (this.#reading) this.#key(byte);
        else this.#typeAhead.push(byte);
      }
    }
  }

  #key(byte: number): void {
    const r = this.#reading;
    if (!r) return void this.#typeAhead.push(byte);
    if (this.#escape) {
      // Skip escape sequences (arrow keys and the like) up to their final byte.
      if (byte >= 0x40 && byte !== 0x5b) this.#escape = false;
      return;
    }
    switch (byte) {
      case 0x0d:
      case 0x0a:
        this.#write("\r\n");
        return this.#finish(r.line);
      case CTRL_C:
        this.#write("^C\r\n");
        return this.#finish(null);
      case CTRL_D:
        if (r.line === "") {
          this.#write("\r\n");
          this.#finish(null);
        }
        return;
      case BACKSPACE:
      case DELETE:
        if (r.line === "") return;
        r.line = [...r.line].slice(0, -1).join("");
        if (!r.secret) this.#write("\b \b");
        return;
      case CTRL_U:
        r.line = "";
        this.#write(`${CLEAR_LINE}${r.prompt}`);
        return;
      case ESCAPE:
        this.#escape = true;
        return;
    }
    if (byte < 0x20) return;
    const text = this.#decoder.decode(new Uint8Array([byte]), { stream: true });
    r.line += text;
    if (!r.secret) this.#write(text);
  }

  #finish(line: string | null): void {
    const r = this.#reading;
    this.#reading = undefined;
    r?.resolve(line);
  }

  #write(text: string): void {
    writeAllSync(this.#out, text);
  }
}
