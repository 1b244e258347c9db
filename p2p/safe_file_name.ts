/**
 * Turning names from the network into plain, safe base names for the receive folder.
 *
 * @module
 */

import { MAX_FILE_NAME_BYTES } from "./limits.ts";

/** What an empty or all-unsafe name becomes. */
export const FALLBACK_FILE_NAME = "file";

const encoder = new TextEncoder();

function truncateUtf8(s: string, maxBytes: number): string {
  if (encoder.encode(s).length <= maxBytes) return s;
  let out = "";
  let used = 0;
  for (const ch of s) {
    const n = encoder.encode(ch).length;
    if (used + n > maxBytes) break;
    out += ch;
    used += n;
  }
  return out;
}

/**
 * Reduces any string to a plain file base name: no path separators, no `..`, no control
 * or reserved characters, no leading dots (no hidden files), at most
 * {@linkcode MAX_FILE_NAME_BYTES} UTF-8 bytes (keeping the extension), never empty.
 *
 * @param name a name from the network.
 * @returns a name safe to join onto a folder.
 * @example
 * ```ts
 * import { safeFileName } from "./safe_file_name.ts";
 * console.assert(safeFileName("../../etc/passwd") === "passwd");
 * console.assert(safeFileName("..") === "file");
 * ```
 */
export function safeFileName(name: string): string {
  // Only the last path component counts, whichever separator the sender's OS uses.
  const parts = name.split(/[/\\]/);
  let base = parts[parts.length - 1] ?? "";
  // C0/C1 controls, DEL, and characters reserved on common file systems.
  // deno-lint-ignore no-control-regex
  base = base.replace(/[\u0000-\u001f\u007f-\u009f<>:"|?*]/g, "_");
  // Unicode line/paragraph separators and bidi overrides can disguise a name.
  base = base.replace(/[\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, "_");
  base = base.replace(/^[\s.]+/, "").replace(/[\s.]+$/, "");
  if (base === "") return FALLBACK_FILE_NAME;
  if (encoder.encode(base).length > MAX_FILE_NAME_BYTES) {
    const ext = extensionOf(base);
    const stem = truncateUtf8(
      base.slice(0, base.length - ext.length),
      MAX_FILE_NAME_BYTES - encoder.encode(ext).length,
    );
    base = (stem + ext).replace(/^[\s.]+/, "");
    if (base === "") return FALLBACK_FILE_NAME;
  }
  return base;
}

/** The extension kept when a name is shortened or numbered: the last `.xyz`, ≤ 16 chars. */
function extensionOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot > 0 && name.length - dot <= 16 ? name.slice(dot) : "";
}

/**
 * The name a received file is stored under: `<sender>_<filename>` (SPEC §3, UVF), both
 * parts sanitised.
 *
 * @param from the sender's device name.
 * @param filename the file name from the ticket.
 * @returns a safe base name.
 */
export function storedFileName(from: string, filename: string): string {
  return safeFileName(`${safeFileName(from)}_${safeFileName(filename)}`);
}

/**
 * The `n`-th alternative to a taken name: ` (n)` before the extension (`cam_1-5.txt` →
 * `cam_1-5 (1).txt`), the stem shortened so the result stays within
 * {@linkcode MAX_FILE_NAME_BYTES}. A space and parentheses never occur in a device name,
 * so a numbered name can never look like a device's data file `<name>-<fileID>.txt`.
 *
 * @param name a name from {@linkcode storedFileName}.
 * @param n the counter, from 1.
 * @returns the numbered name.
 * @example
 * ```ts
 * import { numberedFileName } from "./safe_file_name.ts";
 * console.assert(numberedFileName("cam_1-5.txt", 2) === "cam_1-5 (2).txt");
 * ```
 */
export function numberedFileName(name: string, n: number): string {
  const ext = extensionOf(name);
  const suffix = ` (${n})${ext}`;
  const stem = truncateUtf8(
    name.slice(0, name.length - ext.length),
    MAX_FILE_NAME_BYTES - encoder.encode(suffix).length,
  );
  return stem + suffix;
}
