/**
 * A real pseudo-terminal for end-to-end tests of the edge's line editor: a program run in
 * tmux on a private server socket (never the user's default tmux server), keys sent as a
 * person types them, the screen read back and waited on with a timeout. Async-disposable.
 * `.ci/run` installs tmux when it is missing (`scripts/tools.ts`).
 *
 * @module
 */

import { waitUntil } from "./wait.ts";

/** Options of {@linkcode TmuxTerminal.start}. */
export interface TmuxOptions {
  /** Columns of the terminal (narrow ones make typed lines wrap). */
  width?: number;
  rows?: number;
  env?: Record<string, string>;
}

/** Whether tmux can be run here. */
export function hasTmux(): boolean {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** One program running in its own tmux server. */
export class TmuxTerminal implements AsyncDisposable {
  readonly #socket: string;
  readonly #dir: string;

  private constructor(socket: string, dir: string) {
    this.#socket = socket;
    this.#dir = dir;
  }

  /** Runs `command` (a program and its arguments) in a fresh terminal. */
  static async start(command: string[], options: TmuxOptions = {}): Promise<TmuxTerminal> {
    const dir = await Deno.makeTempDir({ prefix: "iotnet-tmux-" });
    const socket = `iotnet-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
    const terminal = new TmuxTerminal(socket, dir);
    const env = Object.entries({ NO_COLOR: "1", MALLOC_ARENA_MAX: "2", ...options.env })
      .map(([k, v]) => `${k}=${quote(v)}`).join(" ");
    // The exit code lands in a file once the program ends; the pane stays to be read.
    const script = `env ${env} ${command.map(quote).join(" ")}; echo $? > ${
      quote(`${dir}/exit`)
    }; sleep 600`;
    await terminal.#tmux([
      "new-session",
      "-d",
      "-x",
      String(options.width ?? 80),
      "-y",
      String(options.rows ?? 24),
      "sh",
      "-c",
      script,
    ]);
    return terminal;
  }

  /** Sends keys as tmux names them (`Enter`, `C-c`, `Up`, `Tab`) or literal text. */
  async keys(...keys: string[]): Promise<void> {
    await this.#tmux(["send-keys", "-t", "0", ...keys]);
  }

  /** Types `text` literally (no key names). */
  async type(text: string): Promise<void> {
    await this.#tmux(["send-keys", "-t", "0", "-l", text]);
  }

  /**
   * The visible screen: rows joined by newlines, without trailing spaces (tmux drops
   * them: a prompt `name> ` reads `name>`) or trailing blank rows.
   */
  async screen(): Promise<string> {
    const text = await this.#tmux(["capture-pane", "-p", "-t", "0"]);
    return text.split("\n").map((row) => row.trimEnd()).join("\n").trimEnd();
  }

  /** Everything the terminal showed, scrolled-off rows included. */
  async scrollback(): Promise<string> {
    const text = await this.#tmux(["capture-pane", "-p", "-t", "0", "-S", "-"]);
    return text.split("\n").map((row) => row.trimEnd()).join("\n").trimEnd();
  }

  /** The cursor position on screen (0-based). */
  async cursor(): Promise<{ x: number; y: number }> {
    const text = await this.#tmux(["display-message", "-p", "-t", "0", "#{cursor_x} #{cursor_y}"]);
    const [x, y] = text.trim().split(" ").map(Number);
    return { x: x ?? -1, y: y ?? -1 };
  }

  /**
   * Waits until the cursor is at column `x` of row `y` (0-based).
   *
   * @throws {Error} after `timeoutMs`, with where it was.
   */
  async waitForCursor(x: number, y: number, timeoutMs = 20_000): Promise<void> {
    let last = { x: -1, y: -1 };
    try {
      await waitUntil(
        async () => {
          last = await this.cursor();
          return last.x === x && last.y === y;
        },
        `the cursor at ${x},${y}`,
        timeoutMs,
        50,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; it was at ${last.x},${last.y}`);
    }
  }

  /**
   * Waits until the screen satisfies `test` (a regular expression or a predicate).
   *
   * @returns the screen that did.
   * @throws {Error} after `timeoutMs`, with the last screen.
   */
  async waitFor(
    test: RegExp | ((screen: string) => boolean),
    timeoutMs = 20_000,
  ): Promise<string> {
    const ok = typeof test === "function" ? test : (s: string) => test.test(s);
    let last = "";
    try {
      await waitUntil(async () => ok(last = await this.screen()), String(test), timeoutMs, 50);
    } catch (error) {
      throw new Error(`${(error as Error).message}; the screen was:\n${last}`);
    }
    return last;
  }

  /** Waits for the program to end and returns its exit code. */
  async exitCode(timeoutMs = 20_000): Promise<number> {
    let text = "";
    await waitUntil(
      async () => {
        try {
          text = await Deno.readTextFile(`${this.#dir}/exit`);
          return text.endsWith("\n");
        } catch {
          return false;
        }
      },
      "the program to exit",
      timeoutMs,
      50,
    );
    return Number(text.trim());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#tmux(["kill-server"]).catch(() => {});
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  async #tmux(args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-L", this.#socket, "-f", "/dev/null", ...args],
      stdout: "piped",
      stderr: "piped",
      env: { TMUX: "" },
    }).output();
    const decoder = new TextDecoder();
    if (!out.success) {
      throw new Error(`tmux ${args[0]} failed: ${decoder.decode(out.stderr).trim()}`);
    }
    return decoder.decode(out.stdout);
  }
}

function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
