/**
 * A progress bar with rate for long transfers, drawn on stderr only when stderr is a
 * terminal; in pipes and `--json` mode nothing is drawn.
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

/** A bar on a terminal stream. */
export function terminalProgress(
  label: string,
  out: { writeSync(p: Uint8Array): number },
): Progress {
  const start = performance.now();
  let last = -Infinity;
  let drawn = false;
  return {
    update(done, total) {
      const now = performance.now();
      if (now - last < REDRAW_MS && done < total) return;
      last = now;
      drawn = true;
      writeAllSync(out, `\r\x1b[2K${renderBar(label, done, total, now - start)}`);
    },
    finish() {
      if (drawn) writeAllSync(out, "\r\x1b[2K");
    },
  };
}

/**
 * Progress for a transfer that runs while the prompt is in use: one line printed above
 * the prompt at each quarter, with the rate, instead of a bar that would fight the
 * line being typed.
 */
export function milestoneProgress(label: string, print: (line: string) => void): Progress {
  const start = performance.now();
  let next = 25;
  return {
    update(done, total) {
      const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
      if (percent < next || percent >= 100) return;
      const elapsed = performance.now() - start;
      const rate = elapsed > 0 ? formatBytes(Math.round((done / elapsed) * 1000)) : "?";
      print(`${label}: ${percent}% of ${formatBytes(total)} at ${rate}/s`);
      while (next <= percent) next += 25;
    },
    finish() {},
  };
}
