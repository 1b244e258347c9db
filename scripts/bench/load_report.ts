/**
 * The load test's report: each figure beside its target, and the run's conditions, as
 * terminal lines (`scripts/load.ts`) or a `docs/BENCHMARKS.md` section.
 *
 * @module
 */

import type { MachineCheck, StepCpu } from "./machine.ts";
import { formatMs, percentile, sum, table } from "./helpers.ts";

/** Targets of the hardening issue (item 6). */
export const TARGETS = {
  uedP99Ms: 2_000,
  scsP99Ms: 200,
  peakRssBytes: 512e6,
} as const;

/** One figure beside its target. */
export interface Figure {
  figure: string;
  measured: string;
  target: string;
  /** `undefined` for figures reported without a target. */
  pass: boolean | undefined;
  /** The one latency measured, in milliseconds, for figures that are one. */
  ms?: number;
  /** The p99 in milliseconds, for latency figures that show it. */
  p99Ms?: number;
}

/** What `runLoad` (`load.ts`) measured. */
export interface LoadReport {
  devices: number;
  samples: number;
  burst: number;
  fileBytes: number;
  /** File system of the servers' data directories, e.g. `ext4 on /dev/vda`. */
  dataFileSystem: string;
  /** How fast this machine was just before the run, to compare runs on other days. */
  machine: MachineCheck;
  /** Where the devices' own files were written. */
  edgeDir: string;
  /** Every figure, in report order. */
  figures: Figure[];
  /** The first failures, for the report (all are counted in the figures). */
  failures: string[];
  /** Server log or stderr lines that say something went wrong. */
  serverComplaints: string[];
  /** Wall time of each phase, in report order. */
  phases: [string, number][];
  /** CPU seconds spent in each step of the first phase. */
  cpu: StepCpu[];
  /** The driver's longest event-loop lag during the first phase. */
  driverLagMaxMs: number;
  /** Device steps that failed, in both phases (the first few are quoted in `failures`). */
  failedSteps: number;
  /** Pause between two SCS requests of the second phase's probe device. */
  probeGapMs: number;
  /** How long the probe device measures SCS alone before the burst. */
  quietMs: number;
  totalSeconds: number;
}

export function latency(figure: string, values: number[], p?: number, targetMs?: number): Figure {
  if (values.length === 0) {
    return { figure, measured: "no samples", target: "—", pass: targetMs ? false : undefined };
  }
  const p99Ms = percentile(values, 99);
  if (p === undefined) {
    return {
      figure,
      measured: `${formatMs(percentile(values, 50))} / ${formatMs(p99Ms)}`,
      target: "—",
      pass: undefined,
      p99Ms,
    };
  }
  const value = percentile(values, p);
  return {
    figure,
    measured: formatMs(value),
    target: targetMs === undefined ? "—" : `< ${targetMs.toLocaleString("en")} ms`,
    pass: targetMs === undefined ? undefined : value < targetMs,
    ms: value,
    ...(p === 99 && { p99Ms }),
  };
}

export function row(
  figure: string,
  measured: string,
  target: string,
  pass: boolean | undefined,
): Figure {
  return { figure, measured, target, pass };
}

function verdict(pass: boolean | undefined): string {
  return pass === undefined ? "—" : pass ? "pass" : "**FAIL**";
}

/**
 * Sentences about the run's conditions (phases, CPU, file systems, a warning when other
 * processes were busy), shared by both outputs.
 *
 * @param report what `runLoad` returned.
 * @returns one sentence or two per line.
 */
function conditions(report: LoadReport): string[] {
  const cores = navigator.hardwareConcurrency;
  const wall = sum(report.cpu.map((c) => c.wallSeconds));
  const others = sum(report.cpu.map((c) => c.others));
  const othersShare = (100 * others / (wall * cores)).toFixed(0);
  const phases = report.phases.map(([what, s]) => `${what} ${s.toFixed(1)} s`).join("; ");
  const steps = report.cpu.map((c) =>
    `${c.step} (${c.wallSeconds.toFixed(1)} s wall): server ${c.server.toFixed(2)} s, ` +
    `driver ${c.driver.toFixed(2)} s, others ${c.others.toFixed(2)} s`
  ).join("; ");
  const lag = Math.round(report.driverLagMaxMs);
  return [
    `Phases: ${phases}. Whole run ${report.totalSeconds.toFixed(0)} s.`,
    `CPU seconds in the first phase, ${cores} cores: ${steps}. Other processes used ` +
    `${othersShare}% of the machine; the driver's event loop fell at most ${lag} ms behind.`,
    `Server data directories on ${report.dataFileSystem}; device files in ${report.edgeDir}.`,
    "Machine check just before the run: checking and aggregating 1,000,000 samples " +
    `${report.machine.aggregateMs.toFixed(0)} ms (CPU); creating an empty file ${
      Math.round(report.machine.createMicros)
    } µs and ` +
    `writing and fsyncing a 100 kB one ${report.machine.fsyncMs.toFixed(2)} ms (medians, ` +
    "in the data directories' file system).",
    ...(Number(othersShare) > 10
      ? [
        `**Other processes used ${othersShare}% of the machine during the first phase: ` +
        "these figures are not representative; rerun on a quiet machine.**",
      ]
      : []),
  ];
}

/**
 * The report as a `docs/BENCHMARKS.md` section.
 *
 * @param report what `runLoad` returned.
 * @param runs sentences about the other runs of the same benchmark, if any.
 * @returns Markdown starting with a `##` heading.
 */
export function loadMarkdown(report: LoadReport, runs: string[] = []): string {
  const n = report.devices.toLocaleString("en");
  const rows = report.figures.map((f) => [f.figure, f.measured, f.target, verdict(f.pass)]);
  return [
    `## Load: ${n} devices at once, then ${report.burst} standard-profile logins`,
    "",
    `A real \`iotnet server\` process (\`MALLOC_ARENA_MAX=2\`, temp data dir, log to a file)`,
    `and ${n} \`EdgeConnection\`s driven from **one** driver process (\`scripts/load.ts\`).`,
    `Each device has its own ${report.samples.toLocaleString("en")}-sample file (${
      Math.round(report.fileBytes / 1e3)
    } kB, \`generateDataFile\`), whose four results`,
    "are computed locally with BigInt and `protocol/compute.ts`'s AVERAGE rounding; the driver",
    "reads every file into memory first and uploads from there, so it does no disk work. All devices",
    "log in at once; then all at once upload it (UED), ask SUM, AVERAGE, MAX and MIN (SCS),",
    "list the active devices (AED) and message a random peer; then all log out.",
    `**The ${n} logins use the cheap hash profile** (\`IOTNET_HASH_PROFILE=fast\`, scrypt`,
    "N=1024, one check per login).",
    "",
    `Second phase: a second server with the **standard** profile (N=16384, the default) and`,
    `${report.burst + 1} accounts hashed as \`iotnet passwd\` does (\`hashPassword\`). One device`,
    `logs in, uploads its file and asks SCS every ${report.probeGapMs} ms, ${
      report.quietMs / 1000
    } s alone, then while ${report.burst} other`,
    "devices log in at once.",
    "",
    table(["figure", "measured", "target", "result"], rows),
    "",
    ...runs.flatMap((line) => [line, ""]),
    ...conditions(report).flatMap((line) => [line, ""]),
    ...(report.failures.length > 0
      ? ["First failures:", "", ...report.failures.map((f) => `- ${f}`), ""]
      : []),
    ...(report.serverComplaints.length > 0
      ? [
        `Server log lines reporting problems (${report.serverComplaints.length}, first 10):`,
        "",
        ...report.serverComplaints.slice(0, 10).map((l) => `- \`${l}\``),
        "",
      ]
      : []),
  ].join("\n").trimEnd();
}

/** Whether every figure that has a target met it. */
export function allTargetsMet(report: LoadReport): boolean {
  return report.figures.every((f) => f.pass !== false);
}

/**
 * The report as terminal lines: one per figure, then the run's conditions and failures.
 *
 * @param report what `runLoad` returned.
 * @returns the lines joined.
 */
export function loadSummary(report: LoadReport): string {
  const width = Math.max(...report.figures.map((f) => f.figure.length));
  const lines = report.figures.map((f) =>
    [
      f.figure.padEnd(width),
      f.measured,
      f.target === "—" ? "" : `(target ${f.target})`,
      f.pass === undefined ? "" : f.pass ? "PASS" : "FAIL",
    ].filter(Boolean).join("  ")
  );
  return [
    `${report.devices} devices logged in with the cheap hash profile (IOTNET_HASH_PROFILE=fast), ` +
    `${report.samples} samples each, one driver process; then ${report.burst} logins at once ` +
    "with the standard profile.",
    "",
    ...lines,
    "",
    ...conditions(report),
    ...report.failures.map((f) => `failure: ${f}`),
    ...report.serverComplaints.slice(0, 10).map((l) => `server: ${l}`),
    "",
    allTargetsMet(report) ? "all targets met" : "SOME TARGETS MISSED",
  ].join("\n");
}
