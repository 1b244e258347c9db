/**
 * `deno run -A scripts/crash_loop.ts [--iterations N] [--seed N]`: the crash test of the
 * server's data directory at full length (`tests/_helpers/crash_loop.ts`, docs/DECISIONS.md
 * "Crash safety"): kills the server with SIGKILL at seeded random moments during uploads,
 * deletes and offline delivery, restarts it, and checks what survived. Prints a summary
 * and exits 0, or the first invariant that failed and exits 1; 2 on a bad argument.
 *
 * @module
 */

import { crashLoop, formatSummary } from "../tests/_helpers/crash_loop.ts";
import { numberOption, parseCli } from "./_cli.ts";

const USAGE = `usage: deno run -A scripts/crash_loop.ts [--iterations N] [--seed N]
  --iterations  kills and restarts, 1..100000 (default 120)
  --seed        seed of the operations, sizes and kill moments, 0..4294967295 (default 1)`;

if (import.meta.main) {
  const { values } = parseCli(Deno.args, {
    usage: USAGE,
    options: { iterations: { type: "string" }, seed: { type: "string" } },
  });
  const iterations = numberOption(values.iterations, {
    whole: true,
    name: "--iterations",
    min: 1,
    max: 100_000,
    fallback: 120,
    usage: USAGE,
  });
  const seed = numberOption(values.seed, {
    whole: true,
    name: "--seed",
    min: 0,
    max: 2 ** 32 - 1,
    fallback: 1,
    usage: USAGE,
  });
  try {
    const summary = await crashLoop({ iterations, seed, log: (line) => console.error(line) });
    console.log(formatSummary(summary));
  } catch (error) {
    console.log(`crash test FAILED: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
