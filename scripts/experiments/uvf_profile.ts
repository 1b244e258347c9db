/**
 * Summarises a V8 `.cpuprofile` (as written by `scripts/bench/uvf_peer.ts` with
 * `UVF_CPU_PROFILE`): self time per function, largest first. `(idle)` is time the
 * JavaScript thread spent outside JavaScript: waiting in the event loop, but also Deno's
 * own Rust work. The tuning of docs/P2P.md ("Performance notes") used it.
 *
 * ```
 * UVF_CPU_PROFILE=/tmp/p deno run -A scripts/experiments/uvf_quick.ts --runs 1
 * deno run -A scripts/experiments/uvf_profile.ts /tmp/p.send.cpuprofile [top=30]
 * ```
 *
 * @module
 */

import { numberOption, parseCli, usageError } from "../_cli.ts";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface Profile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * Self time per function of a CPU profile.
 *
 * @param p the parsed `.cpuprofile`.
 * @returns `[function, µs]` pairs, largest first, and the total in µs.
 */
export function selfTimes(p: Profile): { total: number; rows: [string, number][] } {
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const byName = new Map<string, number>();
  let total = 0;
  for (const n of p.nodes) {
    const t = self.get(n.id) ?? 0;
    total += t;
    const f = n.callFrame;
    const k = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber + 1}`;
    byName.set(k, (byName.get(k) ?? 0) + t);
  }
  return { total, rows: [...byName].sort((a, b) => b[1] - a[1]) };
}

const USAGE = `usage: deno run -A scripts/experiments/uvf_profile.ts <file.cpuprofile> [top]
  prints the self time of the top (default 30) functions of a V8 CPU profile`;

if (import.meta.main) {
  const { positionals } = parseCli(Deno.args, { usage: USAGE, options: {}, positionals: true });
  const [path, topText] = positionals;
  if (!path || positionals.length > 2) usageError(USAGE, "name one .cpuprofile file");
  const top = numberOption(topText, {
    whole: true,
    name: "[top]",
    min: 1,
    max: 10_000,
    fallback: 30,
    usage: USAGE,
  });
  const { total, rows } = selfTimes(JSON.parse(await Deno.readTextFile(path)));
  console.log(`total ${(total / 1000).toFixed(0)} ms`);
  for (const [k, t] of rows.slice(0, top)) {
    console.log(
      `${(t / 1000).toFixed(0).padStart(6)} ms ${(100 * t / total).toFixed(1).padStart(5)}%  ${k}`,
    );
  }
}
