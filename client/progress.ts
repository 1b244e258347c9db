/**
 * A progress bar with rate for long transfers: on a terminal, on a status line of its own
 * above the prompt (`LineInput.status`); with commands from a pipe, on stderr when that is
 * a terminal; in `--json` mode nothing is drawn.
 *
 * @module
 */

import { writeAllSync } from "./line_input.ts";

/** Redraws at most this often. */
const REDRAW_MS = 100;
const WIDTH = 30;

/** Reports progress of one transfer. */
export interface Progress {
  update(done: number, total: number): void;
  finish(): void;
}

/** A progress sink that draws nothing. */
export const noProgress: Progress = { update() {}, finish() {} };

/** Formats a byte count with a binary unit. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * Renders one frame of the bar.
 *
 * @example
 * ```ts
 * import { renderBar } from "./progress.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   renderBar("UED", 512, 1024, 1000),
 *   "UED [###############...............]  50% 512 B / 1.0 KiB  512 B/s",
 * );
 * ```
 */
export function renderBar(label: string, done: number, total: number, elapsedMs: number): string {
  const fraction = total === 0 ? 1 : Math.min(1, done / total);
  const filled = Math.round(fraction * WIDTH);
  const rate = elapsedMs > 0 ? (done / elapsedMs) * 1000 : 0;
  return `${label} [${"#".repeat(filled)}${".".repeat(WIDTH - filled)}] ` +
    `${String(Math.floor(fraction * 100)).padStart(3)}% ${formatBytes(done)} / ${
      formatBytes(total)
    }  ` +
    `${formatBytes(Math.round(rate))}/s`;
}

/**
 * A bar redrawn through `draw` (at most every {@linkcode REDRAW_MS}, and at the end);
 * `draw(undefined)` takes it away when the transfer ends.
 *
 * @param label what is transferred, at the start of the bar.
 * @param draw shows one frame of the bar, or removes it.
 * @returns the progress reporter.
 */
export function barProgress(label: string, draw: (bar: string | undefined) => void): Progress {
  const start = performance.now();
  let last = -Infinity;
  let drawn = false;
  return {
    update(done, total) {
      const now = performance.now();
      if (now - last < REDRAW_MS && done < total) return;
      last = now;
      drawn = true;
      draw(renderBar(label, done, total, now - start));
    },
    finish() {
      if (drawn) draw(undefined);
    },
  };
}

/** A bar alone on a terminal stream (stderr, when stdin is a pipe: no prompt to share with). */
export function terminalProgress(
  label: string,
  out: { writeSync(p: Uint8Array): number },
): Progress {
  return barProgress(label, (bar) => writeAllSync(out, `\r\x1b[2K${bar ?? ""}`));
}
