/**
 * The helpers every benchmark section shares: reading a process's memory, descriptors and
 * CPU from `/proc`, stopping a process, timing, percentiles and medians, figures as text
 * and Markdown tables. The reference tools themselves are installed by
 * `scripts/tools.ts` and served by `tool_server.ts`.
 *
 * @module
 */

/** Kernel clock ticks per second in `/proc/<pid>/stat` and `/proc/stat` (USER_HZ). */
export const CLOCK_TICKS = 100;

/** Resident set size of process `pid` in bytes, from /proc (0 when it is gone). */
export function rssBytes(pid: number): number {
  return procStatusBytes(pid, "VmRSS");
}

/** The kernel's record of a process's peak resident memory (`VmHWM`), in bytes. */
export function peakRss(pid: number): number {
  return procStatusBytes(pid, "VmHWM");
}

/**
 * A memory figure (`VmRSS`, `VmHWM`, ...) of `/proc/<pid>/status` in bytes; 0 when the
 * process is gone.
 */
export function procStatusBytes(pid: number, field: string): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
    return kb * 1024;
  } catch {
    return 0;
  }
}

/** Samples a process's RSS every `intervalMs` until stopped; reports the peak. */
export function sampleRss(pid: number, intervalMs = 10): { stop(): number } {
  let peak = rssBytes(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssBytes(pid));
    },
  };
}

/** Entries of `/proc/<pid>/fd`: the process's open descriptors (0 when it is gone). */
export function fdCount(pid: number): number {
  let count = 0;
  try {
    for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) count++;
  } catch {
    return 0;
  }
  return count;
}

/**
 * User and system CPU seconds of a `/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat`
 * line.
 */
export function statCpuSeconds(stat: string): { user: number; system: number } {
  // The fields after the command name (which may hold spaces); utime is the 14th field.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]) / CLOCK_TICKS, system: Number(fields[12]) / CLOCK_TICKS };
}

/**
 * User and system CPU seconds of the children a process has waited for (`cutime` and
 * `cstime` of its `/proc/<pid>/stat` line): with `/proc/self/stat`, what the tools this
 * process ran and reaped have spent.
 */
export function reapedChildrenCpuSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
}

/** CPU seconds the whole machine spent busy (all but idle and iowait) since boot. */
export function machineBusySeconds(): number {
  // cpu  user nice system idle iowait irq softirq steal ...
  const fields = Deno.readTextFileSync("/proc/stat").split("\n")[0]!.trim().split(/\s+/)
    .slice(1, 9).map(Number);
  return (sum(fields) - fields[3]! - fields[4]!) / CLOCK_TICKS;
}

/** Sends `signal` to `child` unless it has exited, then waits for its exit. */
export async function stopProcess(
  child: Deno.ChildProcess,
  signal: Deno.Signal = "SIGTERM",
): Promise<Deno.CommandStatus> {
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
  return await child.status;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `fn` and returns its wall time in milliseconds. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Runs a shell command to completion, throwing on failure. */
export async function sh(script: string): Promise<void> {
  const { code, stderr } = await new Deno.Command("sh", { args: ["-c", script], stderr: "piped" })
    .output();
  if (code !== 0) throw new Error(`${script} failed: ${new TextDecoder().decode(stderr)}`);
}

/** The p-th percentile (0..100) of `values`: the smallest value with p% at or below it. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

/** The median of `values` (the mean of the middle two when their number is even). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The sum of `values`. */
export function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** Megabytes (10^6) with one decimal. */
export function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** Milliseconds as a number: two decimals below 10, whole with thousands separators above. */
export function msNumber(ms: number): string {
  return ms < 10 ? ms.toFixed(2) : Math.round(ms).toLocaleString("en");
}

/** Milliseconds with their unit, as {@linkcode msNumber} writes the number. */
export function formatMs(ms: number): string {
  return `${msNumber(ms)} ms`;
}

/**
 * A Markdown table.
 *
 * @param header the column names.
 * @param rows the cells.
 * @param align per column, `right` for a right-aligned one (`---:`); default all left.
 * @returns the table's lines joined.
 */
export function table(
  header: string[],
  rows: (string | number)[][],
  align: ("left" | "right")[] = [],
): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  const rule = header.map((_, i) => align[i] === "right" ? "---:" : "---");
  return [line(header), line(rule), ...rows.map(line)].join("\n");
}
