/**
 * Where the edge reads its lines from and prints above them: a terminal (prompts, a line
 * editor that keeps the typed line intact when a message arrives, no echo for passwords,
 * `terminal_input.ts`) or a pipe (scripted use: no prompts, one line per read).
 *
 * @module
 */

/**
 * Tab completion of a typed line: the candidates, and the part of the line they complete
 * (readline's completer shape).
 */
export type Completer = (line: string) => [string[], string];

/** Options of {@linkcode LineInput.read}. */
export interface ReadOptions {
  /** Do not echo what is typed (passwords); it stays out of the history. */
  secret?: boolean;
  /** Keep the line out of the history (Up/Down); a secret one always is. */
  unrecorded?: boolean;
  /** Tab completion for this line. */
  complete?: Completer | undefined;
}

/** A source of input lines that can also print without disturbing the line being typed. */
export interface LineInput {
  /** Reads one line; `null` at end of input (Ctrl-D on an empty line, or EOF). */
  read(prompt: string, options?: ReadOptions): Promise<string | null>;
  /** Prints one line of output (without its newline). */
  print(text: string): void;
  /**
   * Shows `text` on a status line of its own under `key` (a progress bar), kept below the
   * output and above the prompt; `undefined` removes it. Only a terminal shows it.
   */
  status(key: string, text: string | undefined): void;
  /** Called on Ctrl-C when there is no typed line to clear (a terminal only). */
  onInterrupt: (() => void) | undefined;
  /** Gives the terminal back; pending reads resolve with `null`. */
  close(): void;
}

const encoder = new TextEncoder();

/** Writes all of `text` to a synchronous writer such as `Deno.stdout`. */
export function writeAllSync(writer: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  for (let at = 0; at < bytes.length;) at += writer.writeSync(bytes.subarray(at));
}

/** Lines from a non-terminal stream, for scripted use. Prompts are not shown. */
export class PipeInput implements LineInput {
  readonly #lines: AsyncIterator<string>;
  readonly #out: { writeSync(p: Uint8Array): number };

  constructor(
    input: ReadableStream<Uint8Array>,
    out: { writeSync(p: Uint8Array): number },
  ) {
    this.#lines = splitLines(input)[Symbol.asyncIterator]();
    this.#out = out;
  }

  async read(): Promise<string | null> {
    const next = await this.#lines.next();
    return next.done ? null : next.value;
  }

  onInterrupt: (() => void) | undefined;

  print(text: string): void {
    writeAllSync(this.#out, `${text}\n`);
  }

  status(): void {}

  close(): void {
    void this.#lines.return?.();
  }
}

/** Splits a byte stream into lines (`\n` or `\r\n`); a last line without newline counts. */
export async function* splitLines(input: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of input) {
    pending += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      yield pending.slice(0, newline).replace(/\r$/, "");
      pending = pending.slice(newline + 1);
    }
  }
  pending += decoder.decode();
  if (pending !== "") yield pending.replace(/\r$/, "");
}
