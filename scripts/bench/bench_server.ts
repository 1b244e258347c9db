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
  /** The operator HTTP's port, when the server was started with `--http`. */
  readonly httpPort: number | undefined;
  readonly #logs: { stdout: string; stderr: string };

  private constructor(
    child: Deno.ChildProcess,
    ports: { port: number; httpPort: number | undefined },
    logs: { stdout: string; stderr: string },
  ) {
    this.#child = child;
    this.port = ports.port;
    this.httpPort = ports.httpPort;
    this.#logs = logs;
  }

  get pid(): number {
    return this.#child.pid;
  }

  /**
   * Starts the server and waits for its `listening on` line (and its `http on` line when
   * `extraArgs` has `--http`).
   *
   * @param extraArgs more options of `iotnet server` (`--tls-cert`, `--tls-key`, `--http`, ...).
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
    const http = extraArgs.includes("--http");
    for (const end = performance.now() + 30_000; performance.now() < end && !exited;) {
      const lines = (await Deno.readTextFile(logs.stdout).catch(() => "")).split("\n");
      const port = Number(/^\S+Z listening on .*:(\d+)$/.exec(lines[0]!)?.[1]);
      // The server prints `http on HOST:PORT` right after `listening on` (SPEC §8).
      const httpPort = Number(/^\S+Z http on .*:(\d+)$/.exec(lines[1] ?? "")?.[1]);
      if (port && (!http || httpPort)) {
        return new BenchServer(child, { port, httpPort: http ? httpPort : undefined }, logs);
      }
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

  /** Sends `signal` (`SIGKILL` for a node that dies) without waiting for the exit. */
  kill(signal: Deno.Signal): void {
    this.#child.kill(signal);
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
