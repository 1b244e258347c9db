/**
 * How tests run the real `iotnet` program: `deno run` on `mod.ts` with the project's
 * `deno.json` (which carries the unstable flags), from any working directory.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * A `Deno.Command` running `iotnet <args>`, with all permissions but what `denyFlags`
 * takes away (`--deny-ffi`).
 */
export function iotnetCommand(
  args: string[],
  options: Deno.CommandOptions = {},
  denyFlags: string[] = [],
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...denyFlags,
      "--quiet",
      "--config",
      `${ROOT}deno.json`,
      `${ROOT}mod.ts`,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...options,
    // See docs/DECISIONS.md: two malloc arenas keep a busy server's RSS in check.
    env: { NO_COLOR: "1", MALLOC_ARENA_MAX: "2", ...options.env },
  });
}

/** Runs `iotnet <args>` to completion with optional stdin text. */
export async function runIotnet(
  args: string[],
  stdin = "",
  options: Deno.CommandOptions = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = iotnetCommand(args, { ...options, stdin: "piped" }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}
