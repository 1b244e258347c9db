/**
 * Quick UVF throughput harness for tuning: repeats UVF (direct, 0% loss) and optionally
 * windowed TFTP and relayed lossy runs, interleaved, and prints per-run figures, medians
 * and the machine load.
 *
 * ```
 * deno run -A scripts/bench/uvf_quick.ts [--mib 256] [--runs 3] [--tftp] [--loss 0,0.1]
 * UVF_LIMITS='{"maxCwndPackets":128}' deno run -A scripts/bench/uvf_quick.ts
 * deno run -A scripts/bench/uvf_quick.ts --variants '[{}, {"maxCwndPackets":128}]'
 * ```
 *
 * `--variants` takes a JSON array of `UVF_LIMITS` objects; each round runs every variant
 * once, in order, so slow drifts in machine load hit all of them alike.
 *
 * @module
 */

import { ensureTools, type Row, tftpRun, uvfRun, writeBenchFile } from "./uvf.ts";

function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && Deno.args[i + 1] !== undefined ? Deno.args[i + 1]! : fallback;
}

function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function load(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "?";
  }
}

let lastStat: number[] | undefined;

/** CPU time (ms, all cores) spent busy since the previous call, from /proc/stat. */
function busyMs(): number {
  try {
    const f = Deno.readTextFileSync("/proc/stat").split("\n")[0]!.trim().split(/\s+/).slice(1)
      .map(Number);
    const prev = lastStat;
    lastStat = f;
    if (!prev) return NaN;
    const d = f.map((x, i) => x - prev[i]!);
    const busy = d.reduce((a, b) => a + b, 0) - d[3]! - d[4]!;
    return busy * 10; // USER_HZ = 100
  } catch {
    return NaN;
  }
}

async function cleanup(dir: string, keep: string): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    if (`${dir}/${e.name}` !== keep) {
      await Deno.remove(`${dir}/${e.name}`, { recursive: true }).catch(() => {});
    }
  }
}

async function main(): Promise<void> {
  const mib = Number(arg("mib", "256"));
  const runs = Number(arg("runs", "3"));
  const withTftp = Deno.args.includes("--tftp");
  const losses = arg("loss", "").split(",").filter((x) => x !== "").map(Number);
  const variants: Record<string, unknown>[] = JSON.parse(arg("variants", "[null]"));
  const bytes = mib * 1024 * 1024;
  const dir = await Deno.makeTempDir({ prefix: "uvf_quick_" });
  const results = new Map<string, number[]>();
  const add = (name: string, r: Row) => {
    // CPU used by everything but our two peers during the run (other engineers' jobs, but
    // also process start-up and the sha256sum checks): a rough interference signal.
    const others = busyMs() - (r.cpuSender ?? 0) - (r.cpuReceiver ?? 0);
    const cores = navigator.hardwareConcurrency;
    const list = results.get(name) ?? [];
    list.push(r.ok ? r.ms : NaN);
    results.set(name, list);
    console.log(
      `${name.padEnd(28)} ${
        r.ok
          ? `${r.ms.toFixed(0)} ms ${(bytes / r.ms / 1000).toFixed(1)} MB/s`
          : `FAILED ${r.note ?? ""}`
      }` +
        `${r.retransmits !== undefined ? ` rtx ${r.retransmits} rto ${r.rtoExpiries}` : ""}` +
        `${
          r.cpuSender !== undefined
            ? ` cpu s/r ${r.cpuSender.toFixed(0)}/${r.cpuReceiver?.toFixed(0)} ms`
            : ""
        }` +
        `  others ${(100 * others / (cores * r.ms)).toFixed(0)}% load ${load()}`,
    );
    if (Deno.args.includes("--threads") && r.threadsSender) {
      console.log(
        `   datagrams out ${r.datagramsOut} in ${r.sendsSender} sends; in ${r.datagramsIn} in ${r.readsReceiver} reads`,
      );
      console.log(`   sender threads ${JSON.stringify(r.threadsSender)}`);
      console.log(`   receiver threads ${JSON.stringify(r.threadsReceiver)}`);
    }
  };
  try {
    const src = `${dir}/bench.bin`;
    await writeBenchFile(src, bytes);
    busyMs();
    const missing = withTftp ? await ensureTools() : [];
    for (let i = 0; i < runs; i++) {
      for (const v of variants) {
        const env: Record<string, string> = v ? { UVF_LIMITS: JSON.stringify(v) } : {};
        busyMs();
        add(v ? `uvf ${JSON.stringify(v)}` : "uvf", await uvfRun(dir, src, 0, false, env));
        await cleanup(dir, src);
      }
      if (withTftp && missing.length === 0) {
        busyMs();
        add("tftp", await tftpRun(dir, src));
        await cleanup(dir, src);
      }
      for (const loss of losses) {
        busyMs();
        add(`relay ${loss * 100}%`, await uvfRun(dir, src, loss, true));
        await cleanup(dir, src);
      }
    }
    console.log(`--- medians over ${runs} runs, ${mib} MiB`);
    for (const [name, ms] of results) {
      const m = median(ms);
      console.log(`${name.padEnd(28)} ${m.toFixed(0)} ms ${(bytes / m / 1000).toFixed(1)} MB/s`);
    }
    const u = results.get("uvf") ?? results.get(`uvf ${JSON.stringify(variants[0])}`);
    const t = results.get("tftp");
    if (u && t) console.log(`UVF/TFTP ratio: ${(median(t) / median(u)).toFixed(2)}`);
    const base = results.get("relay 0%");
    if (base) {
      for (const loss of losses.filter((l) => l > 0)) {
        const l = results.get(`relay ${loss * 100}%`)!;
        console.log(`loss ratio ${loss * 100}%: ${(median(l) / median(base)).toFixed(2)}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
