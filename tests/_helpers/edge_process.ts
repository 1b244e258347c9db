/**
 * Runs the real `iotnet edge --json` with scripted stdin: tests write lines, then wait
 * for the JSON results and events they expect, with timeouts.
 *
 * @module
 */

import { ACCOUNTS, type ServerProcess } from "./server_process.ts";
import { iotnetCommand } from "./iotnet_command.ts";
import { LineCollector } from "./line_collector.ts";

/** One line of `--json` output. */
export type JsonLine = Record<string, unknown>;

/** Options of {@linkcode EdgeProcess.start}. */
export interface EdgeProcessOptions {
  /** Folder for data files; a fresh temp dir otherwise. */
  dir?: string;
  /** Log in as this device with its test password (from ACCOUNTS). */
  login?: string;
  env?: Record<string, string>;
  /** Extra command-line options. */
  args?: string[];
}

/** A running edge process. */
export class EdgeProcess implements AsyncDisposable {
  readonly dir: string;
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly stdout: LineCollector;
  readonly stderr: LineCollector;
  readonly #status: Promise<Deno.CommandStatus>;
  /** Whether {@linkcode start} made the folder (and disposal removes it). */
  readonly #ownsDir: boolean;
  /** Index of the next unread JSON line. */
  #cursor = 0;

  private constructor(child: Deno.ChildProcess, dir: string, ownsDir: boolean) {
    this.#child = child;
    this.dir = dir;
    this.#ownsDir = ownsDir;
    this.#stdin = child.stdin.getWriter();
    this.stdout = new LineCollector(child.stdout);
    this.stderr = new LineCollector(child.stderr);
    this.#status = child.status;
  }

  /**
   * Starts an edge against `server` (or anything in front of it on 127.0.0.1, a balancer);
   * with `login`, logs in and waits for success.
   */
  static async start(
    server: Pick<ServerProcess, "port">,
    options: EdgeProcessOptions = {},
  ): Promise<EdgeProcess> {
    const dir = options.dir ?? await Deno.makeTempDir({ prefix: "iotnet-edge-" });
    const child = iotnetCommand(
      [
        "edge",
        "127.0.0.1",
        String(server.port),
        "0", // UDP port: the kernel picks one (bound_ports.ts reads it back)
        "--dir",
        dir,
        "--json",
        ...(options.args ?? []),
      ],
      { stdin: "piped", ...(options.env && { env: options.env }) },
    ).spawn();
    const edge = new EdgeProcess(child, dir, !options.dir);
    if (options.login) {
      await edge.send(options.login, ACCOUNTS[options.login]!);
      const login = await edge.next((j) => j.event === "login");
      if (login.ok !== true) {
        throw new Error(`login as ${options.login} failed: ${JSON.stringify(login)}`);
      }
    }
    return edge;
  }

  /** The edge's process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Writes lines to the edge's stdin. */
  async send(...lines: string[]): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(lines.map((l) => `${l}\n`).join("")));
  }

  /** Waits for the next JSON line (after the last one returned) that matches. */
  async next(
    match: (json: JsonLine) => boolean = () => true,
    timeoutMs = 15_000,
  ): Promise<JsonLine> {
    const index = await this.stdout.waitFor((l) => match(parse(l)), timeoutMs, this.#cursor);
    this.#cursor = index + 1;
    return parse(this.stdout.lines[index]!);
  }

  /** Sends a command and waits for its result. */
  async command(line: string, timeoutMs = 15_000): Promise<JsonLine> {
    await this.send(line);
    return await this.next((j) => typeof j.cmd === "string", timeoutMs);
  }

  /** Every JSON line so far. */
  get json(): JsonLine[] {
    return this.stdout.lines.map(parse);
  }

  /** Closes stdin (end of script) and waits for exit. */
  async finish(): Promise<Deno.CommandStatus> {
    await this.#stdin.close().catch(() => {});
    return await this.exited();
  }

  /** Waits for the process to exit. */
  async exited(): Promise<Deno.CommandStatus> {
    const status = await this.#status;
    await Promise.all([this.stdout.done, this.stderr.done]);
    return status;
  }

  /** Kills the process. */
  kill(signal: Deno.Signal = "SIGKILL"): void {
    try {
      this.#child.kill(signal);
    } catch { /* gone */ }
  }

  /** Kills the edge and removes its folder if {@linkcode start} made it. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.kill();
    await this.#stdin.close().catch(() => {});
    await this.exited();
    if (this.#ownsDir) await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

function parse(line: string): JsonLine {
  try {
    const value = JSON.parse(line);
    return typeof value === "object" && value !== null ? value : { raw: line };
  } catch {
    throw new Error(`edge printed a line that is not JSON: ${line}`);
  }
}
