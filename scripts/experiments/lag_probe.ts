/**
 * `deno run -A scripts/experiments/lag_probe.ts [--seconds S]`: what the event-loop lag
 * probe (`server/http/event_loop_lag.ts`) costs and what it sees, for probe intervals of
 * 10, 20 and 100 ms (docs/DECISIONS.md, "Event-loop lag"). For each interval, S seconds
 * idle (the process's CPU time, from /proc, against S seconds without a probe), then S
 * seconds during which the loop is blocked for 5 ms and for 50 ms at random moments (how
 * many blocks the probe's worst lag shows, and the lag it reports when the loop is idle).
 *
 * @module
 */

import { numberOption, parseCli } from "../_cli.ts";
import { EventLoopLag } from "../../server/http/event_loop_lag.ts";
import { Histogram } from "../../server/http/histogram.ts";

const USAGE = `usage: deno run -A scripts/experiments/lag_probe.ts [--seconds S]
  --seconds  seconds of each measurement, 1..600 (default 10)`;

const { values } = parseCli(Deno.args, { usage: USAGE, options: { seconds: { type: "string" } } });
const seconds = numberOption(values.seconds, {
  name: "--seconds",
  min: 1,
  max: 600,
  fallback: 10,
  usage: USAGE,
});

/** CPU time of this process so far, in ms (user + system, from /proc/self/stat). */
function cpuMs(): number {
  const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1]!.split(" ");
  // utime and stime are fields 14 and 15 of the line: 12 and 13 after "pid (comm) ".
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function idleCpu(probeMs: number | undefined): Promise<number> {
  const lag = probeMs === undefined ? undefined : probe(probeMs);
  const before = cpuMs();
  await sleep(seconds * 1000);
  lag?.stop();
  return cpuMs() - before;
}

/** A running probe every `probeMs`. */
function probe(probeMs: number): EventLoopLag {
  const lag = new EventLoopLag(new Histogram([0.001, 0.005, 0.01, 0.05]), {
    intervalMs: probeMs,
  });
  lag.start();
  return lag;
}

/** Blocks the loop for `blockMs` at random moments; how many blocks the probe saw. */
async function blocks(probeMs: number, blockMs: number): Promise<string> {
  const lag = probe(probeMs);
  const histogram = lag.histogram;
  let seen = 0;
  let total = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    await sleep(50 + Math.random() * 150);
    const before = histogram.sample();
    const beforeOver = before.count - before.cumulative[0]!;
    for (const stop = performance.now() + blockMs; performance.now() < stop;) { /* busy */ }
    await sleep(probeMs * 2);
    const after = histogram.sample();
    if (after.count - after.cumulative[0]! > beforeOver) seen++;
    total++;
  }
  lag.stop();
  return `${seen}/${total}`;
}

const baseline = await idleCpu(undefined);
console.log(`no probe: ${baseline} ms of CPU in ${seconds} s`);
for (const probeMs of [10, 20, 100]) {
  const cpu = await idleCpu(probeMs);
  const idle = probe(probeMs);
  await sleep(seconds * 1000);
  idle.stop();
  const s = idle.histogram.sample();
  console.log(
    `probe every ${probeMs} ms: ${cpu} ms of CPU in ${seconds} s idle ` +
      `(${cpu - baseline} ms more); idle lag mean ${(s.sum / s.count * 1000).toFixed(2)} ms, ` +
      `${s.count - s.cumulative[0]!} of ${s.count} probes over 1 ms; ` +
      `5 ms blocks seen ${await blocks(probeMs, 5)}, 50 ms blocks seen ${await blocks(
        probeMs,
        50,
      )}`,
  );
}
