/**
 * Starts the real `iotnet server` on port 0 in a temporary data directory and reads back
 * the bound port from its first line. Async-disposable: `await using server = ...`.
 *
 * @module
 */

import { join } from "node:path";
import { iotnetCommand } from "./iotnet_command.ts";
import { LineCollector } from "./line_collector.ts";

/** A log line: its ISO 8601 UTC time (`server/log_format.ts`), a space, the message. */
const LOG_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (.*)$/s;

/**
 * The message of a server log line.
 *
 * @throws {Error} when the line does not start with an ISO 8601 time.
 */
export function logMessage(line: string): string {
  const message = LOG_LINE.exec(line)?.[1];
  if (message === undefined) throw new Error(`server log line without an ISO time: ${line}`);
  return message;
}

/** Accounts every test server knows. */
export const ACCOUNTS: Record<string, string> = Object.fromEntries(
  Array.from({ length: 60 }, (_, i) => [`dev${i}`, `pw${i}`]).concat([
    ["watch1", "pw1"],
    ["watch2", "pw2"],
    ["watch3", "pw3"],
  ]),
);

/** Options of {@linkcode startServerProcess}. */
export interface ServerProcessOptions {
  attempts?: number;
  /** Extra command-line options. */
  args?: string[];
  /** Reuse a data directory (for restarts); a fresh temp dir otherwise. */
  dataDir?: string;
  /** Listen on this port (a restart where edges wait to reconnect); 0, any free one, otherwise. */
  port?: number;
  /** `IOTNET_HASH_PROFILE` of the server; default `fast`. */
  hashProfile?: string;
  /** Permissions taken from the server (`--deny-ffi`). */
  denyFlags?: string[];
}

/** A running server process. */
export class ServerProcess implements AsyncDisposable {
  readonly port: number;
  readonly dataDir: string;
  readonly #child: Deno.ChildProcess;
  readonly stdout: LineCollector;
  readonly stderr: LineCollector;
  #status: Promise<Deno.CommandStatus>;
  /** Whether {@linkcode start} made the data directory (and disposal removes it). */
  readonly #ownsDataDir: boolean;

  private constructor(
    child: Deno.ChildProcess,
    dataDir: string,
    ownsDataDir: boolean,
    port: number,
    stdout: LineCollector,
    stderr: LineCollector,
  ) {
    this.#child = child;
    this.dataDir = dataDir;
    this.#ownsDataDir = ownsDataDir;
    this.port = port;
    this.stdout = stdout;
    this.stderr = stderr;
    this.#status = child.status;
  }

  /** Starts a server and waits for its `listening on` line. */
  static async start(options: ServerProcessOptions = {}): Promise<ServerProcess> {
    const dataDir = options.dataDir ?? await Deno.makeTempDir({ prefix: "iotnet-server-" });
    const credentials = join(dataDir, "credentials.txt");
    try {
      await Deno.lstat(credentials);
    } catch {
      await Deno.writeTextFile(
        credentials,
        Object.entries(ACCOUNTS).map(([n, p]) => `${n} ${p}\n`).join(""),
      );
    }
    const child = iotnetCommand(
      [
        "server",
        String(options.port ?? 0),
        String(options.attempts ?? 3),
        "--data-dir",
        dataDir,
        ...(options.args ?? []),
      ],
      // The cheap hash profile keeps 50 simultaneous logins quick; the standard profile
      // is covered by server/password_hash_test.ts and tests/passwd_test.ts.
      { env: { IOTNET_HASH_PROFILE: options.hashProfile ?? "fast" } },
      options.denyFlags,
    ).spawn();
    const stdout = new LineCollector(child.stdout);
    const stderr = new LineCollector(child.stderr);
    try {
      // The first line, whatever it is, must be the address (SPEC §1).
      const index = await stdout.waitFor(() => true, 20_000);
      if (!logMessage(stdout.lines[index]!).startsWith("listening on ")) {
        throw new Error(`the first line is not the address: ${stdout.lines[index]}`);
      }
      const port = Number(stdout.lines[index]!.split(":").at(-1));
      return new ServerProcess(child, dataDir, !options.dataDir, port, stdout, stderr);
    } catch (error) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
      throw new Error(
        `server did not start: ${(error as Error).message}\nstderr:\n${stderr.lines.join("\n")}`,
      );
    }
  }

  /** Waits for a server log line whose message matches `pattern`. */
  waitForLog(pattern: RegExp, timeoutMs = 10_000, from = 0): Promise<number> {
    return this.stdout.waitFor((l) => pattern.test(logMessage(l)), timeoutMs, from);
  }

  /** The messages of the log lines so far (each line checked to start with its time). */
  get log(): string[] {
    return this.stdout.lines.map(logMessage);
  }

  /** The server's process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Reads a file of the data directory. */
  read(name: string): Promise<string> {
    return Deno.readTextFile(join(this.dataDir, name));
  }

  /** Stops the server with `signal` and waits for it to exit. */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      this.#child.kill(signal);
    } catch { /* already gone */ }
    const status = await this.#status;
    await Promise.all([this.stdout.done, this.stderr.done]);
    return status;
  }

  /** Kills the server and removes its data directory if {@linkcode start} made it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop("SIGKILL");
    if (this.#ownsDataDir) await Deno.remove(this.dataDir, { recursive: true }).catch(() => {});
  }
}
