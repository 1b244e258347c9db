/**
 * `deno task bench [section...]`: runs the benchmarks beside their reference tools and
 * writes `docs/BENCHMARKS.md`. Sections: `ued` (upload, plain and over TLS, and compute), `uvf` (peer
 * transfer), `broadcast` (message fan-out), `load` (1,000 devices at once against its
 * targets), `load-dashboard` (the same, without and with the operator's dashboard open and
 * `/metrics` scraped, interleaved; `--pairs N` pairs of runs), `hostile` (one device's write
 * flood against another's commands), `tls` (connect-and-login
 * over TLS, key logins against password logins at once), `cluster` (the load on one node on
 * SQLite, one on PostgreSQL and three on PostgreSQL, interleaved; cross-node message latency;
 * a node killed). With no
 * argument, all of them. Sections not run this time are kept from the file as it was,
 * so `deno task bench load` reruns one section and leaves the rest.
 *
 * @module
 */

import { numberOption, parseCli, usageError } from "./_cli.ts";
import { runBroadcastBench } from "./bench/broadcast.ts";
import { runClusterBench } from "./bench/cluster.ts";
import { runHostileBench } from "./bench/hostile.ts";
import { runLoadBench } from "./bench/load.ts";
import { DEFAULT_PAIRS, runLoadDashboardBench } from "./bench/load_dashboard.ts";
import { runTlsBench } from "./bench/tls.ts";
import { runUedBench } from "./bench/ued.ts";
import { runUvfBench } from "./bench/uvf.ts";

/** What the command line gives the sections (each reads what concerns it). */
interface BenchOptions {
  /** Pairs of runs of `load-dashboard`. */
  pairs: number;
}

/**
 * Each section: how to run it, and how its `##` heading starts (to find it in the file; no
 * heading may start another's).
 */
const SECTIONS: Record<
  string,
  { run: (options: BenchOptions) => Promise<string>; heading: string }
> = {
  ued: { run: runUedBench, heading: "## UED and SCS" },
  uvf: { run: runUvfBench, heading: "## UVF" },
  broadcast: { run: runBroadcastBench, heading: "## Broadcast" },
  load: { run: runLoadBench, heading: "## Load" },
  "load-dashboard": {
    run: ({ pairs }) => runLoadDashboardBench(pairs),
    heading: "## Dashboard open during the load test",
  },
  hostile: { run: runHostileBench, heading: "## Hostile" },
  tls: { run: runTlsBench, heading: "## TLS and device keys" },
  cluster: { run: () => runClusterBench(), heading: "## Cluster" },
};

const USAGE = `usage: deno task bench [--pairs N] [section...]
  runs the sections named (all when none: ${Object.keys(SECTIONS).join(", ")}) beside their
  reference tools and writes docs/BENCHMARKS.md, keeping the sections not run
  --pairs  load-dashboard: pairs of load runs, without and with the dashboard, 1..50
           (default ${DEFAULT_PAIRS})`;

const { values, positionals } = parseCli(Deno.args, {
  usage: USAGE,
  options: { pairs: { type: "string" } },
  positionals: true,
});
const options: BenchOptions = {
  pairs: numberOption(values.pairs, {
    name: "--pairs",
    whole: true,
    min: 1,
    max: 50,
    fallback: DEFAULT_PAIRS,
    usage: USAGE,
  }),
};
const chosen = positionals.length > 0 ? positionals : Object.keys(SECTIONS);
for (const name of chosen) {
  if (!SECTIONS[name]) {
    usageError(USAGE, `unknown section ${name}; choose from ${Object.keys(SECTIONS).join(", ")}`);
  }
}

const out = new URL("../docs/BENCHMARKS.md", import.meta.url);
const previous = splitSections(await Deno.readTextFile(out).catch(() => ""));

const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*: (.*)/)?.[1] ??
  "unknown CPU";
const fresh = new Map<string, string>();
for (const name of chosen) {
  console.log(`== ${name}`);
  const load = loadAverage();
  const text = await SECTIONS[name]!.run(options);
  // Each section says when and where it ran: a section kept from an earlier run keeps it.
  fresh.set(
    name,
    `${text}\n\n_Measured by \`deno task bench ${name}\` on ${today()}: ` +
      `${navigator.hardwareConcurrency} cores, ${cpu}, Deno ${Deno.version.deno}; load average ` +
      `${load} before the section, ${loadAverage()} after._`,
  );
}

const kept: string[] = [];
const sections: string[] = [];
for (const [name, { heading }] of Object.entries(SECTIONS)) {
  const text = fresh.get(name) ?? previous.find((s) => s.startsWith(`${heading}`));
  if (text === undefined) continue;
  if (!fresh.has(name)) kept.push(name);
  sections.push(text);
}
// Sections of the old file that no entry above claims stay, after the known ones.
const known = Object.values(SECTIONS).map((s) => s.heading);
sections.push(...previous.filter((s) => !known.some((h) => s.startsWith(h))));

const parts = [
  "# Benchmarks",
  "",
  `Written by \`deno task bench\` on ${today()}; each section ends with when, where and at ` +
  "what load it was measured.",
  "Every figure is measured beside its reference tool in the same run, on 127.0.0.1.",
  ...(kept.length > 0
    ? [
      `This run measured ${[...fresh.keys()].join(", ")}; the other sections (${
        kept.join(", ")
      }) are kept from earlier runs.`,
    ]
    : []),
];
for (const section of sections) parts.push("", section);
await Deno.writeTextFile(out, parts.join("\n") + "\n");
console.log(`wrote ${out.pathname}`);

/**
 * The `## ` sections of a BENCHMARKS.md as their runs returned them: each without the one
 * blank line this script writes after it, so a kept section is rewritten byte for byte.
 */
function splitSections(text: string): string[] {
  const sections: string[][] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("## ")) sections.push([line]);
    else sections.at(-1)?.push(line);
  }
  for (const lines of sections) if (lines.at(-1) === "") lines.pop();
  return sections.map((lines) => lines.join("\n"));
}

/** Today as YYYY-MM-DD. */
function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** The 1, 5 and 15 minute load averages, as `/proc/loadavg` gives them. */
function loadAverage(): string {
  const [one, five, fifteen] = Deno.readTextFileSync("/proc/loadavg").split(" ");
  return `${one}, ${five}, ${fifteen}`;
}
