/**
 * Starting a real `iotnet server` for a benchmark.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { fdCount, sleep, stopProcess } from "./helpers.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

/**
 * A real `iotnet server` process for a benchmark, in `dataDir`. Its stdout and stderr go
 * to files beside the data directory, not to pipes: nothing the benchmark does can then
 * slow the server by reading its log late.
 */
export class BenchServer {
  readonly #child: Deno.ChildProcess;
  readonly port: number;
  readonly #logs: { stdout: string; stderr: string };

  private constructor(
    child: Deno.ChildProcess,
    port: number,
    logs: { stdout: string; stderr: string },
  ) {
    this.#child = child;
    this.port = port;
    this.#logs = logs;
  }

  get pid(): number {
    return this.#child.pid;
  }

  /**
   * Starts the server and waits for its `listening on` line.
   *
   * @param extraArgs more options of `iotnet server` (`--tls-cert`, `--tls-key`, ...).
   */
  static async start(
    dataDir: string,
    hashProfile: "fast" | "standard" = "standard",
    extraArgs: readonly string[] = [],
  ): Promise<BenchServer> {
    const logs = { stdout: `${dataDir}-stdout.log`, stderr: `${dataDir}-stderr.log` };
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        'exec "$@" >"$IOTNET_LOAD_STDOUT" 2>"$IOTNET_LOAD_STDERR"',
        "sh",
        Deno.execPath(),
        "run",
        "-A",
        "--config",
        `${root}deno.json`,
        `${root}mod.ts`,
        "server",
        "0",
        "3",
        "--data-dir",
        dataDir,
        // Every simulated device comes from 127.0.0.1: lift the per-address cap on
        // connections waiting to log in, which a real fleet spread over addresses would
        // not meet.
        "--max-pending-logins-per-address",
        "4096",
        ...extraArgs,
      ],
      stdin: "null",
      env: {
        MALLOC_ARENA_MAX: "2",
        IOTNET_HASH_PROFILE: hashProfile,
        IOTNET_LOAD_STDOUT: logs.stdout,
        IOTNET_LOAD_STDERR: logs.stderr,
      },
    }).spawn();
    let exited = false;
    void child.status.then(() => (exited = true));
    for (const end = performance.now() + 30_000; performance.now() < end && !exited;) {
      const first = (await Deno.readTextFile(logs.stdout).catch(() => "")).split("\n")[0]!;
      const port = Number(/^\S+Z listening on .*:(\d+)$/.exec(first)?.[1]);
      if (port) return new BenchServer(child, port, logs);
      await sleep(20);
    }
    await stopProcess(child, "SIGKILL");
    const stderr = await Deno.readTextFile(logs.stderr).catch(() => "");
    throw new Error(`the server did not start: ${stderr.trim() || "no output"}`);
  }

  /** Entries of `/proc/<pid>/fd`. */
  fdCount(): number {
    return fdCount(this.pid);
  }

  /**
   * SIGTERM, then waits for the exit and removes the log files; returns the log lines
   * that report a problem.
   */
  async stop(): Promise<string[]> {
    await stopProcess(this.#child);
    const stdout = await Deno.readTextFile(this.#logs.stdout).catch(() => "");
    const stderr = await Deno.readTextFile(this.#logs.stderr).catch(() => "");
    await Deno.remove(this.#logs.stdout).catch(() => {});
    await Deno.remove(this.#logs.stderr).catch(() => {});
    return [
      ...stdout.split("\n").filter((line) =>
        /error|cannot|failed|refused|dropp|stopped reading/i.test(line)
      ),
      ...stderr.split("\n").filter((line) => line.trim()).map((line) => `stderr: ${line}`),
    ];
  }
}
