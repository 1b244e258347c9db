/**
 * `deno run -A scripts/load.ts [--devices N] [--samples N] [--burst N] [--dir DIR]`: the
 * load test of `scripts/bench/load.ts` (1,000 devices at once against a real server, then
 * a burst of standard-profile logins beside a busy device), printed as a summary.
 * `--dir` says where the servers' data directories go (default: the system temp
 * directory), to compare disks. Exits 1 when a target is missed, 2 on a bad argument.
 *
 * @module
 */

import { runLoad } from "./bench/load.ts";
import { conditions, type LoadReport } from "./bench/load_report.ts";

const USAGE =
  "usage: deno run -A scripts/load.ts [--devices N] [--samples N] [--burst N] [--dir DIR]";

interface Args {
  devices: number;
  samples: number;
  burst: number;
  dir?: string;
}

function parseArgs(args: string[]): Args {
  const options: Args = { devices: 1_000, samples: 10_000, burst: 100 };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      Deno.exit(0);
    }
    const match = /^--(devices|samples|burst|dir)(?:=(.*))?$/.exec(arg);
    if (!match) usageError(`unknown argument ${arg}`);
    const text = match[2] ?? args[++i];
    if (text === undefined) usageError(`${arg} needs a value`);
    if (match[1] === "dir") {
      options.dir = text;
      continue;
    }
    const key = match[1] as "devices" | "samples" | "burst";
    const value = Number(text);
    const min = key === "devices" ? 2 : 1;
    if (!Number.isInteger(value) || value < min || value > 100_000) {
      usageError(`--${key} must be an integer ${min}..100000, not ${text}`);
    }
    options[key] = value;
  }
  return options;
}

function usageError(message: string): never {
  console.error(`${message}\n${USAGE}`);
  Deno.exit(2);
}

/** Whether every figure that has a target met it. */
function allPassed(report: LoadReport): boolean {
  return report.figures.every((f) => f.pass !== false);
}

/** The report as plain lines: one per figure, then the run's conditions and failures. */
function summary(report: LoadReport): string {
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
    allPassed(report) ? "all targets met" : "SOME TARGETS MISSED",
  ].join("\n");
}

if (import.meta.main) {
  const report = await runLoad({
    ...parseArgs(Deno.args),
    progress: (line) => console.log(`.. ${line}`),
  });
  console.log("");
  console.log(summary(report));
  Deno.exit(allPassed(report) ? 0 : 1);
}
