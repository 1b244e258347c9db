/**
 * The edge in a real terminal (a tmux pane on a private socket): what a person types and
 * sees. Needs tmux (`.ci/run` installs it through `scripts/tools.ts`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "./_helpers/iotnet_command.ts";
import { ServerProcess } from "./_helpers/server_process.ts";
import { waitUntil } from "./_helpers/wait.ts";

/** A tmux server of its own, so no one else's sessions are touched. */
class Tmux implements AsyncDisposable {
  readonly socket = `iotnet-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;

  async run(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", { args: ["-L", this.socket, ...args] }).output();
    if (!out.success) {
      throw new Error(`tmux ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    return new TextDecoder().decode(out.stdout);
  }

  pane(): Promise<string> {
    return this.run("capture-pane", "-p", "-t", "edge");
  }

  async waitForPane(pattern: RegExp): Promise<string> {
    let text = "";
    try {
      await waitUntil(async () => pattern.test(text = await this.pane()), `${pattern} in the pane`);
    } catch (error) {
      throw new Error(`${(error as Error).message}; the pane shows:\n${text}`);
    }
    return text;
  }

  /**
   * Starts `iotnet edge` against `port` in a 160×40 pane named `edge`, inside the bash
   * command line `shell` makes of the edge's command line.
   */
  async startEdge(port: number, dir: string, shell: (edge: string) => string): Promise<void> {
    const edge = [
      "NO_COLOR=1",
      Deno.execPath(),
      "run -A --quiet --config",
      `${ROOT}deno.json`,
      `${ROOT}mod.ts`,
      `edge 127.0.0.1 ${port} 0 --dir`,
      dir,
    ].join(" ");
    await this.run(
      "new-session",
      "-d",
      "-s",
      "edge",
      "-x",
      "160",
      "-y",
      "40",
      "bash",
      "-c",
      shell(edge),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.run("kill-server").catch(() => {});
  }
}

Deno.test("with stdout piped (| tee log) the password is not echoed, on the terminal or in the log", async () => {
  await using server = await ServerProcess.start();
  const dir = await Deno.makeTempDir({ prefix: "iotnet-edge-" });
  const log = join(dir, "log.txt");
  await using tmux = new Tmux();
  await tmux.startEdge(
    server.port,
    dir,
    (edge) => `${edge} | tee ${log}; echo "exit=\${PIPESTATUS[0]}"; sleep 30`,
  );
  await tmux.waitForPane(/Device name:/);
  await tmux.run("send-keys", "-t", "edge", "watch1", "Enter");
  await tmux.waitForPane(/Password:/);
  await tmux.run("send-keys", "-t", "edge", "pw1", "Enter");
  const welcome = await tmux.waitForPane(/Welcome, watch1!/);
  assert.doesNotMatch(welcome, /pw1/, "the password is not on the terminal");
  await tmux.run("send-keys", "-t", "edge", "OUT", "Enter");
  const done = await tmux.waitForPane(/exit=\d+/);
  assert.match(done, /exit=0/);
  const logged = await Deno.readTextFile(log);
  assert.match(logged, /Welcome, watch1!/);
  assert.match(logged, /Bye, watch1!/);
  assert.doesNotMatch(logged, /pw1/, "the password is not in the log");
  assert.doesNotMatch(
    logged,
    // deno-lint-ignore no-control-regex -- an escape sequence is what must not be there
    /Device name|Password|\x1b/,
    "prompts and escapes stay on the terminal",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a login deadline in a terminal says so and asks again on a fresh connection", async () => {
  await using server = await ServerProcess.start({ args: ["--login-timeout", "1"] });
  const dir = await Deno.makeTempDir({ prefix: "iotnet-edge-" });
  await using tmux = new Tmux();
  await tmux.startEdge(server.port, dir, (edge) => `${edge}; echo "exit=$?"; sleep 30`);
  await tmux.waitForPane(/Device name:/);
  // Nothing typed: the server's deadline passes, the edge says why and asks again.
  const again = await tmux.waitForPane(/no login within 1 s[\s\S]*Device name:/);
  assert.doesNotMatch(again, /exit=/, "the edge is still running");
  // Name and password typed at once, ahead of the password prompt, as a quick typist
  // would: the new connection's second must not be spent on the test's own round trips
  // (under CI's load a wait for the prompt in between took longer than the deadline).
  await tmux.run("send-keys", "-t", "edge", "watch1", "Enter", "pw1", "Enter");
  await tmux.waitForPane(/Welcome, watch1!/);
  await tmux.run("send-keys", "-t", "edge", "OUT", "Enter");
  assert.match(await tmux.waitForPane(/exit=\d+/), /exit=0/);
  await Deno.remove(dir, { recursive: true });
});
