/**
 * `deno run -A scripts/load.ts [--devices N] [--samples N] [--burst N] [--dir DIR]`: the
 * load test of `scripts/bench/load.ts` (1,000 devices at once against a real server, then
 * a burst of standard-profile logins beside a busy device), printed as a summary.
 * `--dir` says where the servers' data directories go (default: the system temp
 * directory), to compare disks. Exits 1 when a target is missed, 2 on a bad argument.
 *
 * @module
 */

import { numberOption, parseCli } from "./_cli.ts";
import { runLoad } from "./bench/load.ts";
import { allTargetsMet, loadSummary } from "./bench/load_report.ts";

const USAGE =
  `usage: deno run -A scripts/load.ts [--devices N] [--samples N] [--burst N] [--dir DIR]
  --devices  devices logged in at once, 2..100000 (default 1000)
  --samples  samples in each device's file, 1..100000 (default 10000)
  --burst    standard-profile logins at once in the second phase, 1..100000 (default 100)
  --dir      where the servers' data directories go (default: the system temp directory)`;

if (import.meta.main) {
  const { values } = parseCli(Deno.args, {
    usage: USAGE,
    options: {
      devices: { type: "string" },
      samples: { type: "string" },
      burst: { type: "string" },
      dir: { type: "string" },
    },
  });
  const count = (name: "devices" | "samples" | "burst", min: number, fallback: number) =>
    numberOption(values[name], {
      whole: true,
      name: `--${name}`,
      min,
      max: 100_000,
      fallback,
      usage: USAGE,
    });
  const report = await runLoad({
    devices: count("devices", 2, 1_000),
    samples: count("samples", 1, 10_000),
    burst: count("burst", 1, 100),
    ...(values.dir !== undefined && { dir: values.dir }),
    progress: (line) => console.log(`.. ${line}`),
  });
  console.log("");
  console.log(loadSummary(report));
  Deno.exit(allTargetsMet(report) ? 0 : 1);
}
