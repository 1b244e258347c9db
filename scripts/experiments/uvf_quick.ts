/**
 * Quick UVF throughput harness for tuning (docs/P2P.md, "Performance notes"): repeats UVF
 * (direct, 0% loss) and optionally windowed TFTP and relayed lossy runs, interleaved, and
 * prints per-run figures, medians and the machine load.
 *
 * ```
 * deno run -A scripts/experiments/uvf_quick.ts [--mib 256] [--runs 3] [--tftp] [--loss 0,0.1]
 * UVF_LIMITS='{"maxCwndPackets":128}' deno run -A scripts/experiments/uvf_quick.ts
 * deno run -A scripts/experiments/uvf_quick.ts --variants '[{}, {"maxCwndPackets":128}]'
 * ```
 *
 * `--variants` takes a JSON array of `UVF_LIMITS` objects; each round runs every variant
 * once, in order, so slow drifts in machine load hit all of them alike.
 *
 * `--compare` takes other checkouts (e.g. `git worktree add --detach /tmp/old <commit>`):
 * each round runs their `scripts/bench/uvf_peer.ts` beside this checkout's, in an order
 * that rotates from round to round, and the summary gives each one's throughput ratio to
 * this checkout's, round by round (median and range). The tickets are made here, so the
 * other checkouts must share this one's ticket format (both peers of a run come from one
 * checkout, so their datagram versions may differ): the sealed tickets of issue 13 since its
 * merge (UDP versions 3 and 4); before it, the signed tickets of 46852a3..73ccc66.
 *
 * @module
 */

import { numberOption, parseCli, usageError } from "../_cli.ts";
import { machineBusySeconds, median } from "../bench/helpers.ts";
import { PEER_SCRIPT, type Row, tftpRun, uvfRun, writeBenchFile } from "../bench/uvf.ts";
import { installMissing } from "../tools.ts";

const USAGE = `usage: deno run -A scripts/experiments/uvf_quick.ts [options]
  --mib N          file size in MiB, 1..4096 (default 256)
  --runs N         rounds, 1..100 (default 3)
  --tftp           a windowed TFTP run (atftp) in every round
  --loss P,P...    relayed runs at these loss rates (0..1) in every round
  --variants JSON  a JSON array of UVF_LIMITS objects, each run once per round
  --compare DIRS   other checkouts (comma-separated) whose UVF peers run in turn with ours
  --threads        per-thread CPU of both peers after each UVF run
environment: UVF_LIMITS (JSON limits for both peers), UVF_DENO_FLAGS (e.g. --deny-ffi),
  UVF_CPU_PROFILE=<prefix> (V8 profiles, see scripts/experiments/uvf_profile.ts)`;

function load(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "?";
  }
}

/** A meter of the CPU ms (all cores) the machine spent busy since its previous reading. */
function busyMeter(): () => number {
  let last = machineBusySeconds();
  return () => {
    const now = machineBusySeconds();
    const busy = (now - last) * 1000;
    last = now;
    return busy;
  };
}

/** The name of a direct UVF run: its `UVF_LIMITS` variant and the checkout, unless ours. */
function uvfName(variant: Record<string, unknown> | null, checkoutLabel = ""): string {
  return `uvf${variant ? ` ${JSON.stringify(variant)}` : ""}${checkoutLabel}`;
}

async function cleanup(dir: string, keep: string): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    if (`${dir}/${e.name}` !== keep) {
      await Deno.remove(`${dir}/${e.name}`, { recursive: true }).catch(() => {});
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseCli(Deno.args, {
    usage: USAGE,
    options: {
      mib: { type: "string" },
      runs: { type: "string" },
      tftp: { type: "boolean" },
      loss: { type: "string" },
      variants: { type: "string" },
      compare: { type: "string" },
      threads: { type: "boolean" },
    },
  });
  const mib = numberOption(values.mib, {
    whole: true,
    name: "--mib",
    min: 1,
    max: 4096,
    fallback: 256,
    usage: USAGE,
  });
  const runs = numberOption(values.runs, {
    whole: true,
    name: "--runs",
    min: 1,
    max: 100,
    fallback: 3,
    usage: USAGE,
  });
  const withTftp = values.tftp === true;
  const losses = (values.loss ?? "").split(",").filter((x) => x !== "").map(Number);
  if (losses.some((loss) => !(loss >= 0 && loss <= 1))) {
    usageError(USAGE, `--loss needs rates 0..1 separated by commas, not ${values.loss}`);
  }
  let variants: (Record<string, unknown> | null)[] = [null];
  try {
    if (values.variants !== undefined) variants = JSON.parse(values.variants);
  } catch (error) {
    usageError(USAGE, `--variants needs a JSON array: ${(error as Error).message}`);
  }
  if (!Array.isArray(variants)) usageError(USAGE, "--variants needs a JSON array");
  const peers = [{ label: "", script: PEER_SCRIPT }];
  for (const checkout of (values.compare ?? "").split(",").filter((x) => x !== "")) {
    const script = `${checkout.replace(/\/+$/, "")}/scripts/bench/uvf_peer.ts`;
    try {
      Deno.statSync(script);
    } catch {
      usageError(
        USAGE,
        `--compare: ${checkout} has no scripts/bench/uvf_peer.ts; give a checkout of iotnet`,
      );
    }
    peers.push({ label: ` @${checkout}`, script });
  }
  const bytes = mib * 1024 * 1024;
  const busyMs = busyMeter();
  /** The median of the runs that did not fail. */
  const medianOk = (ms: number[]) => median(ms.filter(Number.isFinite));
  const dir = await Deno.makeTempDir({ prefix: "uvf_quick_" });
  const results = new Map<string, number[]>();
  /** Transfer CPU ms (start-up left out) of the sender and of the receiver, per run. */
  const transferCpu = new Map<string, { sender: number[]; receiver: number[] }>();
  const add = (name: string, r: Row) => {
    // CPU used by everything but our two peers during the run (other engineers' jobs, but
    // also process start-up and the sha256sum checks): a rough interference signal.
    const others = busyMs() - (r.cpuSender ?? 0) - (r.cpuReceiver ?? 0);
    const cores = navigator.hardwareConcurrency;
    const list = results.get(name) ?? [];
    list.push(r.ok ? r.ms : NaN);
    results.set(name, list);
    if (r.ok && r.transferCpuSender !== undefined && r.transferCpuReceiver !== undefined) {
      const cpu = transferCpu.get(name) ?? { sender: [], receiver: [] };
      cpu.sender.push(r.transferCpuSender);
      cpu.receiver.push(r.transferCpuReceiver);
      transferCpu.set(name, cpu);
    }
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
        `${
          r.transferCpuSender !== undefined
            ? ` (transfer ${r.transferCpuSender.toFixed(0)}/${r.transferCpuReceiver?.toFixed(0)})`
            : ""
        }` +
        `  others ${(100 * others / (cores * r.ms)).toFixed(0)}% load ${load()}`,
    );
    if (values.threads && r.threadsSender) {
      console.log(
        `   datagrams out ${r.datagramsOut} in ${r.sendsSender} sends; in ${r.datagramsIn} in ${r.readsReceiver} reads; back ${r.datagramsBack} in ${r.sendsReceiver} sends`,
      );
      console.log(`   sender threads ${JSON.stringify(r.threadsSender)}`);
      console.log(`   receiver threads ${JSON.stringify(r.threadsReceiver)}`);
    }
  };
  try {
    const src = `${dir}/bench.bin`;
    await writeBenchFile(src, bytes);
    busyMs();
    const missing = withTftp ? await installMissing(["atftp", "atftpd"]) : [];
    for (let i = 0; i < runs; i++) {
      for (const v of variants) {
        const env: Record<string, string> = v ? { UVF_LIMITS: JSON.stringify(v) } : {};
        // Rotated each round, so no checkout always runs first (or right after another).
        for (let k = 0; k < peers.length; k++) {
          const peer = peers[(i + k) % peers.length]!;
          busyMs();
          add(uvfName(v, peer.label), await uvfRun(dir, src, 0, false, env, peer.script));
          await cleanup(dir, src);
        }
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
      const m = medianOk(ms);
      const cpu = transferCpu.get(name);
      console.log(
        `${name.padEnd(28)} ${m.toFixed(0)} ms ${(bytes / m / 1000).toFixed(1)} MB/s` +
          (cpu
            ? `  transfer cpu s/r ${median(cpu.sender).toFixed(0)}/${
              median(cpu.receiver).toFixed(0)
            } ms`
            : ""),
      );
    }
    for (const peer of peers.slice(1)) {
      for (const v of variants) {
        const ours = results.get(uvfName(v))!;
        const theirs = results.get(uvfName(v, peer.label))!;
        // Throughput of theirs over ours, round by round (time is inverse to throughput).
        const ratios = ours.map((ms, round) => ms / theirs[round]!).filter(Number.isFinite);
        console.log(
          `${uvfName(v, peer.label)} / ${uvfName(v)} (this checkout), throughput per round: ` +
            `median ${median(ratios).toFixed(3)} (${Math.min(...ratios).toFixed(3)}–${
              Math.max(...ratios).toFixed(3)
            }), ${ratios.length} pairs`,
        );
      }
    }
    const u = results.get(uvfName(variants[0] ?? null));
    const t = results.get("tftp");
    if (u && t) console.log(`UVF/TFTP ratio: ${(medianOk(t) / medianOk(u)).toFixed(2)}`);
    const base = results.get("relay 0%");
    if (base) {
      for (const loss of losses.filter((l) => l > 0)) {
        const l = results.get(`relay ${loss * 100}%`)!;
        console.log(`loss ratio ${loss * 100}%: ${(medianOk(l) / medianOk(base)).toFixed(2)}`);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
