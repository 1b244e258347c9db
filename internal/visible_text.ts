/**
 * Text from the network made safe to show a person (SPEC §6): control characters are
 * shown as escapes instead of acting on the terminal, so text a device sent can never
 * start a line (forging another sender's message), move the cursor, change colours or
 * reorder what is shown. Machine output (`--json`) keeps the exact text; only what is
 * printed for people goes through here.
 *
 * Escaped: C0 controls (U+0000–U+001F, with `\n`, `\r`, `\t` by name), DEL and the C1
 * controls (U+007F–U+009F, which some terminals obey like ESC sequences), the line and
 * paragraph separators (U+2028, U+2029) and the bidirectional controls (U+061C, U+200E,
 * U+200F, U+202A–U+202E, U+2066–U+2069), which can make text read differently from what
 * it is.
 *
 * @module
 */

/** Every character {@linkcode visible} escapes, and the same without `\n`. */
const CONTROLS = controls("\\u0000-\\u001f");
const CONTROLS_BUT_NEWLINE = controls("\\u0000-\\u0009\\u000b-\\u001f");

function controls(c0: string): RegExp {
  return new RegExp(
    `[${c0}\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]`,
    "g",
  );
}

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** Options of {@linkcode visible}. */
export interface VisibleOptions {
  /**
   * Keep `\n` as a line break: for text iotnet composed itself (a list, one item a
   * line) whose parts from the network were already made visible.
   */
  keepNewlines?: boolean;
}

/**
 * Shows every control character of `text` as an escape (`\n`, `\x1b`, `\u202e`).
 *
 * @param text text that may hold anything.
 * @param options `keepNewlines` to leave line breaks alone.
 * @returns the text with nothing in it that acts on a terminal.
 * @example
 * ```ts
 * import { visible } from "./visible_text.ts";
 * import assert from "node:assert/strict";
 * assert.equal(visible("hi\nwatch3: fake"), "hi\\nwatch3: fake");
 * assert.equal(visible("\x1b[2J\u202egnp.exe"), "\\x1b[2J\\u202egnp.exe");
 * assert.equal(visible("a\nb\x07", { keepNewlines: true }), "a\nb\\x07");
 * ```
 */
export function visible(text: string, options: VisibleOptions = {}): string {
  return text.replace(options.keepNewlines ? CONTROLS_BUT_NEWLINE : CONTROLS, escape);
}

function escape(char: string): string {
  const named = NAMED[char];
  if (named) return named;
  const code = char.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}
