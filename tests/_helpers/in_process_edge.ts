/**
 * The edge program (`runEdge`, what `iotnet edge --json` runs) in the test's own process,
 * against a {@linkcode TestServer}: scripted input lines, `--json` output kept as objects.
 * The same calls as `EdgeProcess` (`send`, `next`, `command`, `finish`), without a process,
 * so an edge test runs in virtual time with the server's clock.
 *
 * @module
 */

import { runEdge } from "../../client/edge.ts";
import type { LineInput } from "../../client/line_input.ts";
import { createOutput } from "../../client/output.ts";
import { noProgress } from "../../client/progress.ts";
import type { JsonLine } from "./edge_process.ts";
import { Arrivals, type TestServer } from "./in_process_server.ts";
import { ACCOUNTS } from "./server_process.ts";

/** Input lines the test writes; `null` once it ends the script. */
class ScriptedInput implements LineInput {
  readonly #lines: string[] = [];
  readonly #printed: (text: string) => void;
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(printed: (text: string) => void) {
    this.#printed = printed;
  }

  write(lines: string[]): void {
    this.#lines.push(...lines);
    this.#wake?.();
  }

  async read(): Promise<string | null> {
    while (this.#lines.length === 0) {
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
    return this.#lines.shift()!;
  }

  /** Ctrl-C comes from a terminal only. */
  onInterrupt: (() => void) | undefined;

  print(text: string): void {
    this.#printed(text);
  }

  /** Status lines are drawn on a terminal only. */
  status(): void {}

  close(): void {
    this.#ended = true;
    this.#wake?.();
  }
}

/** Options of {@linkcode InProcessEdge.start}. */
export interface InProcessEdgeOptions {
  /** Log in as this device with its test password (from `ACCOUNTS`). */
  login?: string;
  /** Folder for data files; a fresh temp dir otherwise (removed at disposal). */
  dir?: string;
}

/** A running in-process edge. */
export class InProcessEdge implements AsyncDisposable {
  readonly dir: string;
  /** Every `--json` line printed, parsed. */
  readonly output = new Arrivals<JsonLine>();
  readonly #input: ScriptedInput;
  readonly #exit: Promise<number>;
  readonly #ownsDir: boolean;
  /** Index of the next unread JSON line. */
  #cursor = 0;

  private constructor(server: Pick<TestServer, "port">, dir: string, ownsDir: boolean) {
    this.dir = dir;
    this.#ownsDir = ownsDir;
    this.#input = new ScriptedInput((text) => this.output.add(JSON.parse(text)));
    const io = {
      input: this.#input,
      output: createOutput(this.#input, { json: true, color: false }),
      interactive: false,
      progress: () => noProgress,
    };
    const options = { serverHost: "127.0.0.1", serverPort: server.port, udpPort: 0, dir };
    this.#exit = runEdge(options, io);
  }

  /** Starts an edge against `server`; with `login`, logs in and waits for success. */
  static async start(
    server: Pick<TestServer, "port">,
    options: InProcessEdgeOptions = {},
  ): Promise<InProcessEdge> {
    const dir = options.dir ?? await Deno.makeTempDir({ prefix: "iotnet-edge-" });
    const edge = new InProcessEdge(server, dir, !options.dir);
    if (options.login) {
      edge.send(options.login, ACCOUNTS[options.login]!);
      // Generous: many edges logging in at once on a loaded machine wait their turns.
      const login = await edge.next((j) => j.event === "login", 30_000);
      if (login.ok !== true) {
        throw new Error(`login as ${options.login} failed: ${JSON.stringify(login)}`);
      }
    }
    return edge;
  }

  /** Types lines. */
  send(...lines: string[]): void {
    this.#input.write(lines);
  }

  /** Waits for the next JSON line (after the last one returned) that matches. */
  async next(
    match: (json: JsonLine) => boolean = () => true,
    timeoutMs = 5_000,
  ): Promise<JsonLine> {
    const index = await this.output.indexOf(match, {
      what: `a matching line after ${JSON.stringify(this.output.items.slice(this.#cursor))}`,
      timeoutMs,
      from: this.#cursor,
    });
    this.#cursor = index + 1;
    return this.output.items[index]!;
  }

  /** Sends a command and waits for its result. */
  command(line: string, timeoutMs = 5_000): Promise<JsonLine> {
    this.send(line);
    return this.next((j) => typeof j.cmd === "string", timeoutMs);
  }

  /** Every JSON line so far. */
  get json(): JsonLine[] {
    return this.output.items;
  }

  /** Ends the input (as end of stdin does) and waits for the exit code. */
  finish(): Promise<number> {
    this.#input.close();
    return this.#exit;
  }

  /** Resolves with the exit code once the edge has stopped by itself. */
  exited(): Promise<number> {
    return this.#exit;
  }

  /** Ends the edge and removes its folder if {@linkcode start} made it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.finish();
    if (this.#ownsDir) await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Opens a private chat from `from` to `to` (named `toName`): asks, has it accepted, and
 * waits until `from` is told.
 *
 * @throws {Error} when a step does not come within its wait.
 */
export async function openPrivateChat(
  from: InProcessEdge,
  to: InProcessEdge,
  toName: string,
): Promise<void> {
  await from.command(`startprivate ${toName}`);
  await to.next((j) => j.event === "private" && j.state === "requested");
  await to.command("y");
  await from.next((j) => j.event === "private" && j.state === "accepted");
}
