/**
 * `deno task bench [section...]`: runs the benchmarks beside their reference tools and
 * writes `docs/BENCHMARKS.md`. Sections: `ued` (upload and
 * compute), `uvf` (peer transfer), `broadcast` (message fan-out). With no argument, all of them.
 *
 * @module
 */

import { runBroadcastBench } from "./bench/broadcast.ts";
import { runUedBench } from "./bench/ued.ts";
import { runUvfBench } from "./bench/uvf.ts";

const SECTIONS: Record<string, () => Promise<string>> = {
  ued: runUedBench,
  uvf: runUvfBench,
  broadcast: runBroadcastBench,
};

const chosen = Deno.args.length > 0 ? Deno.args : Object.keys(SECTIONS);
for (const name of chosen) {
  if (!SECTIONS[name]) {
    console.error(`unknown section ${name}; choose from ${Object.keys(SECTIONS).join(", ")}`);
    Deno.exit(2);
  }
}

const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*: (.*)/)?.[1] ??
  "unknown CPU";
const parts = [
  "# Benchmarks",
  "",
  `Written by \`deno task bench\` on ${
    new Date().toISOString().slice(0, 10)
  }: ${navigator.hardwareConcurrency} cores, ${cpu}, Deno ${Deno.version.deno}.`,
  "Every figure is measured beside its reference tool in the same run, on 127.0.0.1.",
];
for (const name of chosen) {
  console.log(`== ${name}`);
  parts.push("", await SECTIONS[name]!());
}
const out = new URL("../docs/BENCHMARKS.md", import.meta.url);
await Deno.writeTextFile(out, parts.join("\n") + "\n");
console.log(`wrote ${out.pathname}`);
