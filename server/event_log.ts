/**
 * The server's event log on stdout: one line per event, written without ever blocking
 * the server. A synchronous write to a pipe nobody reads would freeze every session
 * (measured: after ~64 KiB of log the next SCS waited until the pipe was read), so lines
 * are queued and written one write at a time; if the queue passes a cap while stdout is
 * not being read, new lines are dropped and the drop is reported once stdout drains.
 * Lines quote names and file names devices sent; control characters in them are shown as
 * escapes (`internal/visible_text.ts`), so nothing a device sends acts on the operator's
 * terminal.
 *
 * @module
 */

import { Coalesced, visible, writeAll, type Writer } from "../internal/mod.ts";

/** Log bytes that may wait for a slow stdout before lines are dropped. */
export const MAX_QUEUED_LOG_BYTES = 1024 * 1024;
/** Longest {@linkcode EventLog.flush} waits at shutdown. */
const FLUSH_TIMEOUT_MS = 2_000;

/** A line sink that never blocks. */
export interface EventLog {
  /** Queues one line. */
  line(text: string): void;
  /** Resolves when the queue is written, or after a short timeout. */
  flush(): Promise<void>;
}

/** Where the log goes: the shape of `Deno.stdout`. */
export type LogWriter = Writer;

/** Options of {@linkcode createEventLog}. */
export interface EventLogOptions {
  /** Bytes that may wait for a slow `out` before lines are dropped. */
  maxQueuedBytes?: number;
  /** Turns a message into the line written (a timestamp added); the notice of drops too. */
  format?: (message: string) => string;
}

/**
 * Creates the event log over `out`.
 *
 * @example
 * ```ts
 * import { createEventLog } from "./event_log.ts";
 * import assert from "node:assert/strict";
 * const written: string[] = [];
 * const log = createEventLog({
 *   write: (b) => (written.push(new TextDecoder().decode(b)), Promise.resolve(b.length)),
 * });
 * log.line("watch1 joined");
 * await log.flush();
 * assert.equal(written.join(""), "watch1 joined\n");
 * ```
 */
export function createEventLog(out: LogWriter, options: EventLogOptions = {}): EventLog {
  const { maxQueuedBytes = MAX_QUEUED_LOG_BYTES, format = (message: string) => message } = options;
  const encoder = new TextEncoder();
  let queue: string[] = [];
  let queuedBytes = 0;
  let dropped = 0;
  /** The last write asked for: settled once every line queued so far is written. */
  let written: Promise<void> = Promise.resolve();
  // One write in flight; lines queued meanwhile go out together in the next.
  const writes = new Coalesced(async () => {
    if (queue.length === 0) return;
    const text = queue.join("");
    queue = [];
    queuedBytes = 0;
    try {
      await writeAll(out, encoder.encode(text));
    } catch {
      // stdout is gone (closed pipe): nothing more can be logged.
      queue = [];
      return;
    }
    if (dropped > 0 && queue.length === 0) {
      queue.push(
        `${format(`(${dropped} log lines were dropped while stdout was not being read)`)}\n`,
      );
      dropped = 0;
      written = writes.run();
    }
  });

  return {
    line(text) {
      // Line breaks stay: a stack trace is the server's own; names from the network are
      // JSON-quoted where they are logged.
      const entry = `${format(visible(text, { keepNewlines: true }))}\n`;
      if (queuedBytes + entry.length > maxQueuedBytes) {
        dropped++;
        return;
      }
      queue.push(entry);
      queuedBytes += entry.length;
      // Runs start on a microtask, so every line logged in this turn goes out in one write.
      written = writes.run();
    },
    async flush() {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<void>((r) => (timer = setTimeout(r, FLUSH_TIMEOUT_MS)));
      const drained = (async () => {
        // A write can ask for one more (the dropped-lines notice): wait until none is new.
        for (let last; last !== written;) await (last = written);
      })();
      await Promise.race([drained, timeout]);
      clearTimeout(timer);
    },
  };
}
