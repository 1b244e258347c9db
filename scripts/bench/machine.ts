/**
 * What the load test reads about the machine it runs on: the server process's memory and
 * descriptors and everyone's CPU from `/proc`, the driver's own event-loop lag, the data
 * directories' file system, and a speed check before each run.
 *
 * @module
 */

import { join } from "node:path";
import { SampleAggregator } from "../../protocol/samples.ts";
import { fdCount, machineBusySeconds, percentile, rssBytes, statCpuSeconds } from "./helpers.ts";

/** Wall and CPU seconds of one step of the first phase. */
export interface StepCpu {
  step: string;
  wallSeconds: number;
  server: number;
  driver: number;
  /** Every other process on the machine. */
  others: number;
}

/** Samples a process's RSS every 10 ms and its fd count every 50 ms, keeping the peaks. */
export class ProcSampler {
  readonly #pid: number;
  #timers: ReturnType<typeof setInterval>[] = [];
  rssPeak = 0;
  fdPeak = 0;

  constructor(pid: number) {
    this.#pid = pid;
  }

  start(): void {
    this.#sample();
    this.#timers = [
      setInterval(() => (this.rssPeak = Math.max(this.rssPeak, rssBytes(this.#pid))), 10),
      // Listing /proc/<pid>/fd with a thousand entries costs the driver ~1 ms: not often.
      setInterval(() => (this.fdPeak = Math.max(this.fdPeak, fdCount(this.#pid))), 250),
    ];
  }

  stop(): void {
    if (this.#timers.length === 0) return;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#sample();
  }

  #sample(): void {
    this.rssPeak = Math.max(this.rssPeak, rssBytes(this.#pid));
    this.fdPeak = Math.max(this.fdPeak, fdCount(this.#pid));
  }
}

/** The longest delay of a 10 ms timer in this process: how far the driver fell behind. */
export class LagMonitor {
  #timer: ReturnType<typeof setInterval> | undefined;
  #last = 0;
  #max = 0;

  start(): void {
    this.#last = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#max = Math.max(this.#max, now - this.#last - 10);
      this.#last = now;
    }, 10);
  }

  /** Stops and returns the longest lag in ms. */
  stop(): number {
    clearInterval(this.#timer);
    this.#timer = undefined;
    return this.#max;
  }
}

/** CPU seconds so far of the server, this driver and the whole machine, with wall time. */
export type CpuReading = Record<"wall" | "server" | "driver" | "machine", number>;

export function cpuNow(serverPid: number): CpuReading {
  let machine = 0;
  try {
    machine = machineBusySeconds();
  } catch {
    machine = 0;
  }
  const wall = performance.now() / 1000;
  return { wall, server: cpuSeconds(serverPid), driver: cpuSeconds(Deno.pid), machine };
}

/** What was spent between two {@linkcode cpuNow} readings. */
export function cpuSpent(step: string, from: CpuReading, to: CpuReading): StepCpu {
  const server = to.server - from.server;
  const driver = to.driver - from.driver;
  return {
    step,
    wallSeconds: to.wall - from.wall,
    server,
    driver,
    others: Math.max(0, to.machine - from.machine - server - driver),
  };
}

/** User plus system CPU seconds of a process (all its threads), from `/proc/<pid>/stat`. */
export function cpuSeconds(pid: number): number {
  try {
    const { user, system } = statCpuSeconds(Deno.readTextFileSync(`/proc/${pid}/stat`));
    return user + system;
  } catch {
    return 0;
  }
}

/** `fstype on device` of the mount holding `path`, from `/proc/mounts`. */
export async function fileSystemOf(path: string): Promise<string> {
  try {
    const real = await Deno.realPath(path);
    let best = { point: "", text: "unknown file system" };
    for (const line of (await Deno.readTextFile("/proc/mounts")).split("\n")) {
      const [device, point, type] = line.split(" ");
      if (!device || !point || !type) continue;
      const inside = real === point || real.startsWith(point === "/" ? "/" : `${point}/`);
      if (inside && point.length >= best.point.length) {
        best = { point, text: `${type} on ${device}` };
      }
    }
    return best.text;
  } catch {
    return "unknown file system";
  }
}

/** How fast the machine's CPU and the data directories' disk were just before a run. */
export interface MachineCheck {
  /** Milliseconds to check and aggregate 1,000,000 samples: the CPU at the server's hot loop. */
  aggregateMs: number;
  /**
   * Median microseconds to create an empty file. ext4 without a journal skips inodes
   * freed in the last 5 to 10 minutes when it allocates one, so right after a test run
   * this was seen at 900 µs here, against 20 µs on a quiet disk; every upload creates one.
   */
  createMicros: number;
  /** Median milliseconds to create, write and fsync a 100 kB file: disk flush speed. */
  fsyncMs: number;
}

/**
 * Measures the CPU and the disk under `dir`. The files stay until `dir` is removed:
 * freeing them now would slow the run's own file creation.
 */
export async function checkMachine(dir: string): Promise<MachineCheck> {
  const samples = new TextEncoder().encode(
    Array.from({ length: 1_000_000 }, (_, i) => `${(i * 7919) % 2_000_003 - 1_000_001}\n`).join(""),
  );
  let aggregateMs = Infinity;
  let began: number;
  for (let run = 0; run < 3; run++) { // the first runs warm the JIT up
    began = performance.now();
    new SampleAggregator().push(samples);
    aggregateMs = Math.min(aggregateMs, performance.now() - began);
  }
  const probe = await Deno.makeTempDir({ prefix: "machine-check-", dir });
  const create: number[] = [];
  for (let i = 0; i < 200; i++) {
    began = performance.now();
    Deno.openSync(join(probe, `empty${i}`), { write: true, createNew: true }).close();
    create.push((performance.now() - began) * 1000);
  }
  const fsync: number[] = [];
  const block = samples.subarray(0, 100_000);
  for (let i = 0; i < 50; i++) {
    began = performance.now();
    using file = Deno.openSync(join(probe, `synced${i}`), { write: true, createNew: true });
    for (let at = 0; at < block.length;) at += file.writeSync(block.subarray(at));
    file.syncSync();
    fsync.push(performance.now() - began);
  }
  return { aggregateMs, createMicros: percentile(create, 50), fsyncMs: percentile(fsync, 50) };
}

export async function isWritableDir(path: string): Promise<boolean> {
  try {
    const probe = await Deno.makeTempDir({ dir: path });
    await Deno.remove(probe);
    return true;
  } catch {
    return false;
  }
}

/**
 * CPU seconds (user and system) spent so far by the processes descended from `root` whose
 * command name (`/proc/<pid>/comm`) matches `name`, e.g. a browser and its renderers that
 * this process started. Processes that already exited are not counted.
 *
 * @param root the ancestor's pid.
 * @param name what the processes' command names match.
 * @returns the seconds, summed.
 */
export function descendantsCpuSeconds(root: number, name: RegExp): number {
  const children = new Map<number, number[]>();
  const stats = new Map<number, string>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
    } catch {
      continue; // exited meanwhile
    }
    const pid = Number(entry.name);
    // pid (comm) state ppid ...: the name may hold spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    stats.set(pid, stat);
    children.set(ppid, [...children.get(ppid) ?? [], pid]);
  }
  let seconds = 0;
  const queue = [...children.get(root) ?? []];
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    queue.push(...children.get(pid) ?? []);
    const stat = stats.get(pid)!;
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    if (!name.test(comm)) continue;
    const { user, system } = statCpuSeconds(stat);
    seconds += user + system;
  }
  return seconds;
}
