/**
 * Tab completion at the edge prompt: the command word (as the command list spells it, in
 * any case typed), then a device name where a command's synopsis names a device. Pure, so
 * the terminal's editor (`terminal_input.ts`) only calls it.
 *
 * @module
 */

import { COMMANDS } from "./commands/mod.ts";

/** The command words as the command list spells them (`EDG`, `message`, aliases `logout`). */
const WORDS: readonly string[] = COMMANDS.flatMap((spec) => [
  spec.synopsis.split(" ")[0] ?? spec.word,
  ...(spec.aliases ?? []).map((alias) => alias.toLowerCase()),
]);

/** Command words whose first argument is a device (its synopsis says `device`). */
const TAKES_DEVICE = new Set(
  COMMANDS.filter((spec) => spec.synopsis.split(" ")[1] === "device").map((spec) => spec.word),
);

/**
 * Completes the word being typed at the end of `line`.
 *
 * @example
 * ```ts
 * import { completeLine } from "./completion.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(completeLine("ue", []), [["UED"], "ue"]);
 * assert.deepEqual(completeLine("message ca", ["carol", "bob"]), [["carol"], "ca"]);
 * ```
 *
 * @param line the line typed so far (up to the cursor).
 * @param devices the device names known to this edge.
 * @returns the candidates and the part of the line they replace (readline's completer
 *   result); no candidates when nothing fits.
 */
export function completeLine(line: string, devices: Iterable<string>): [string[], string] {
  const words = line.trimStart().split(" ");
  const typed = words[words.length - 1] ?? "";
  const prefix = typed.toLowerCase();
  if (words.length === 1) {
    return [WORDS.filter((w) => w.toLowerCase().startsWith(prefix)), typed];
  }
  const command = (words[0] ?? "").toUpperCase();
  const spec = COMMANDS.find((s) => s.word === command || s.aliases?.includes(command));
  if (words.length !== 2 || !spec || !TAKES_DEVICE.has(spec.word)) return [[], typed];
  // Device names are case-sensitive: the typed prefix must match as typed.
  return [[...new Set(devices)].filter((d) => d.startsWith(typed)).sort(), typed];
}
