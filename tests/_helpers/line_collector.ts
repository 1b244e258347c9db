/**
 * Collects the lines of a child process's output and lets tests wait for one that
 * matches, with a timeout instead of a sleep.
 *
 * @module
 */

/** Lines read so far, and waiting on future ones. */
export class LineCollector {
  readonly lines: string[] = [];
  readonly done: Promise<void>;
  #waiters = new Set<() => void>();

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#read(stream);
  }

  async #read(stream: ReadableStream<Uint8Array>): Promise<void> {
    let pending = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      pending += text;
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        this.lines.push(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
      }
      this.#wake();
    }
    if (pending) this.lines.push(pending);
    this.#wake();
  }

  #wake(): void {
    for (const waiter of this.#waiters) waiter();
  }

  /**
   * Resolves with the index of the first line at or after `from` that matches.
   *
   * @throws {Error} after `timeoutMs`, or when the stream ends first, listing what was seen.
   */
  async waitFor(match: (line: string) => boolean, timeoutMs: number, from = 0): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let ended = false;
    this.done.then(() => (ended = true));
    for (;;) {
      for (let i = from; i < this.lines.length; i++) if (match(this.lines[i]!)) return i;
      if (ended) {
        throw new Error(`output ended without the expected line; saw:\n${this.lines.join("\n")}`);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for a line; saw:\n${this.lines.join("\n")}`,
        );
      }
      const { promise, resolve } = Promise.withResolvers<void>();
      this.#waiters.add(resolve);
      const timer = setTimeout(resolve, remaining);
      await Promise.race([promise, this.done]);
      clearTimeout(timer);
      this.#waiters.delete(resolve);
    }
  }
}
