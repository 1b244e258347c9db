/**
 * Shared pieces of the benchmarks: installing reference tools from Debian when missing,
 * sampling a process's resident memory, timing, percentiles and Markdown tables.
 *
 * @module
 */

/** Makes sure `command` exists, installing Debian package `pkg` if not. */
export async function ensureTool(command: string, pkg: string): Promise<void> {
  if (await has(command)) return;
  console.log(`installing ${pkg} from Debian for the reference measurement`);
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", pkg]]) {
    const { code } = await new Deno.Command("apt-get", {
      args,
      stdout: "null",
      stderr: "inherit",
      env: { DEBIAN_FRONTEND: "noninteractive" },
    }).output();
    if (code !== 0) throw new Error(`apt-get ${args.join(" ")} failed; install ${pkg} by hand`);
  }
  if (!(await has(command))) throw new Error(`${pkg} installed but ${command} is still missing`);
}

async function has(command: string): Promise<boolean> {
  const { code } = await new Deno.Command("sh", {
    args: ["-c", `command -v ${command}`],
    stdout: "null",
  })
    .output();
  return code === 0;
}

/** Resident set size of process `pid` in bytes, from /proc (0 when it is gone). */
export function rssBytes(pid: number): number {
  return procStatusBytes(pid, "VmRSS");
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

/** Runs `fn` and returns its wall time in milliseconds. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** The p-th percentile (0..100) of `values`. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

/** A Markdown table. */
export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Megabytes (10^6) with one decimal. */
export function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** Runs a shell command to completion, throwing on failure. */
export async function sh(script: string): Promise<void> {
  const { code, stderr } = await new Deno.Command("sh", { args: ["-c", script], stderr: "piped" })
    .output();
  if (code !== 0) throw new Error(`${script} failed: ${new TextDecoder().decode(stderr)}`);
}

export function fdCount(pid: number): number {
  let count = 0;
  try {
    for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) count++;
  } catch {
    return 0;
  }
  return count;
}

/** The sum of `values`. */
export function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
