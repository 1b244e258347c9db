/**
 * The edge at a real terminal (tmux): the line editor, Ctrl-C, progress and output
 * arriving while a line is typed. Each test waits on screen content with a timeout.
 */

import assert from "node:assert/strict";
import { ROOT } from "./_helpers/iotnet_command.ts";
import { EdgeProcess } from "./_helpers/edge_process.ts";
import { ServerProcess } from "./_helpers/server_process.ts";
import { PausableTcpProxy } from "./_helpers/pausable_tcp_proxy.ts";
import { hasTmux, type TmuxOptions, TmuxTerminal } from "./_helpers/tmux_terminal.ts";

const ignore = !hasTmux();

/** An edge at a terminal, logged in as `name` (password from ACCOUNTS). */
async function edgeAtTerminal(
  server: ServerProcess,
  name: "watch1" | "watch2",
  options: TmuxOptions & { dir?: string; port?: number } = {},
): Promise<TmuxTerminal> {
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "iotnet-edge-" });
  const terminal = await TmuxTerminal.start([
    Deno.execPath(),
    "run",
    "-A",
    "--quiet",
    "--config",
    `${ROOT}deno.json`,
    `${ROOT}mod.ts`,
    "edge",
    "127.0.0.1",
    String(options.port ?? server.port),
    "0",
    "--dir",
    dir,
  ], options);
  await terminal.waitFor(/Device name:$/m);
  await terminal.type(name);
  await terminal.keys("Enter");
  await terminal.waitFor(/Password:$/m);
  await terminal.type(name === "watch1" ? "pw1" : "pw2");
  await terminal.keys("Enter");
  await terminal.waitFor(new RegExp(`^${name}>$`, "m"));
  assert.match(await terminal.scrollback(), /^Password:$/m, "the password is not echoed");
  return terminal;
}

Deno.test({
  name: "Ctrl-C clears a half-typed line and does not log out",
  ignore,
  async fn() {
    await using server = await ServerProcess.start();
    await using terminal = await edgeAtTerminal(server, "watch1");
    await terminal.type("message watch2 half typ");
    await terminal.waitFor(/watch1> message watch2 half typ$/);
    await terminal.keys("C-c");
    const screen = await terminal.waitFor(/half typ\^C\nwatch1>$/);
    assert.doesNotMatch(screen, /Bye/);
    // The edge is still logged in: a command runs.
    await terminal.type("whoelse");
    await terminal.keys("Enter");
    await terminal.waitFor(/No other devices? (are )?online|whoelse\n.*\nwatch1>$/);
    // Ctrl-C on an empty line says how to log out, and does not.
    await terminal.keys("C-c");
    await terminal.waitFor(/type OUT or press Ctrl-D/);
    await terminal.type("OUT");
    await terminal.keys("Enter");
    await terminal.waitFor(/Bye, watch1!/);
    assert.equal(await terminal.exitCode(), 0);
  },
});

Deno.test({
  name: "history brings back earlier lines with Up, and Tab completes commands and devices",
  ignore,
  async fn() {
    await using server = await ServerProcess.start();
    await using terminal = await edgeAtTerminal(server, "watch1");
    await using other = await EdgeProcess.start(server, { login: "watch2" });
    await terminal.waitFor(/watch2 is online/);
    await terminal.type("whoel");
    await terminal.keys("Tab");
    await terminal.waitFor(/watch1> whoelse$/);
    await terminal.keys("Enter");
    await terminal.waitFor(/^watch2$/m);
    await terminal.type("message wa");
    await terminal.keys("Tab");
    await terminal.waitFor(/watch1> message watch[12]?$/);
    await terminal.keys("C-u");
    await terminal.type("message wat");
    await terminal.keys("Tab");
    // Two devices start with "wat": watch1 is this one, not known as another; watch2 is.
    await terminal.waitFor(/watch1> message watch2$/);
    await terminal.type(" hello");
    await terminal.keys("Enter");
    await terminal.waitFor(/Sent to watch2|delivered/i);
    await other.next((e) => e.event === "message" && e.text === "hello");
    // Up twice: the whoelse typed before the message.
    await terminal.keys("Up");
    await terminal.waitFor(/watch1> message watch2 hello$/);
    await terminal.keys("Up");
    await terminal.waitFor(/watch1> whoelse$/);
    // The history holds commands only: the name and password typed at login are not in it.
    await terminal.keys("Down");
    await terminal.waitFor(/watch1> message watch2 hello$/);
    // Left and Home move the cursor: typed text lands in the middle and at the start.
    await terminal.keys("End", "Left", "Left", "Left", "Left", "Left");
    await terminal.type("big ");
    await terminal.keys("Home");
    await terminal.type(" ");
    await terminal.keys("Enter");
    await other.next((e) => e.event === "message" && e.text === "big hello");
    for (const line of [" message watch2 big hello", "message watch2 hello", "whoelse"]) {
      await terminal.keys("Up");
      await terminal.waitFor(new RegExp(`watch1> ${line}$`));
    }
    // Past the oldest command readline gives back what was typed before (nothing): the
    // name typed at login would show here if it were in the history. Keys are taken in
    // order, so an X typed after that Up lands on what it showed.
    await terminal.keys("Up");
    await terminal.type("X");
    await terminal.waitFor(/watch1> X$/);
  },
});

Deno.test({
  name: "a message arriving while a wrapped line is typed prints above it, the line intact",
  ignore,
  async fn() {
    await using server = await ServerProcess.start();
    await using terminal = await edgeAtTerminal(server, "watch1", { width: 40 });
    await using other = await EdgeProcess.start(server, { login: "watch2" });
    await terminal.waitFor(/watch2 is online/);
    const typed = "broadcast this line is long enough to wrap twice on a forty column screen";
    await terminal.type(typed);
    /** Where the typed line starts, once it is all on screen. */
    const lineStart = (screen: string) => {
      const rows = screen.split("\n");
      const at = rows.findIndex((row) => row.startsWith("watch1> broadcast"));
      return at >= 0 && rows.slice(at).join("") === `watch1> ${typed}` ? at : -1;
    };
    const start = lineStart(await terminal.waitFor((screen) => lineStart(screen) >= 0));
    // Back into the middle of the typed line: the cursor must come back there.
    await terminal.keys(...Array(50).fill("Left"));
    const column = `watch1> ${typed}`.length - 50;
    await terminal.waitForCursor(column % 40, start + Math.floor(column / 40));
    await other.send("message watch1 arrived mid-line");
    const screen = await terminal.waitFor(/watch2: arrived mid-line\nwatch1> broadcast/);
    // The typed line, wrapped, follows the message, and nothing is left of it above.
    const at = lineStart(screen);
    assert.notEqual(at, -1, `the typed line is whole below the message:\n${screen}`);
    const above = screen.split("\n").slice(0, at).join("");
    assert.doesNotMatch(above, /broadcast this/, "no stale rows above");
    await terminal.waitForCursor(column % 40, at + Math.floor(column / 40));
    await terminal.keys("Enter");
    await other.next((e) => e.event === "message" && e.kind === "broadcast");
  },
});

/**
 * An edge at a terminal uploading a 40 MiB file 1 through a proxy that has stalled, the
 * progress line up: more than the socket buffers between them take in, so the upload
 * stays in progress until the test resumes the proxy.
 */
async function stalledUpload(server: ServerProcess) {
  const proxy = PausableTcpProxy.start(server.port);
  const dir = await Deno.makeTempDir({ prefix: "iotnet-edge-" });
  await Deno.writeTextFile(`${dir}/watch1-1.txt`, "1\n".repeat(20 * 1024 * 1024));
  const terminal = await edgeAtTerminal(server, "watch1", { port: proxy.port, dir });
  proxy.pause();
  await terminal.type("UED 1");
  await terminal.keys("Enter");
  // The prompt is back while the upload runs, the bar on its own line just above it.
  await terminal.waitFor(/^UED 1 \[[#.]+\] +\d+% .*\nwatch1>$/m);
  return {
    terminal,
    proxy,
    async [Symbol.asyncDispose]() {
      await terminal[Symbol.asyncDispose]();
      await proxy[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test({
  name: "an upload runs behind the prompt, its progress line survives messages, Ctrl-C cancels it",
  ignore,
  async fn() {
    await using server = await ServerProcess.start();
    await using upload = await stalledUpload(server);
    const { terminal, proxy } = upload;
    await using other = await EdgeProcess.start(server, { login: "watch2" });
    await terminal.waitFor(/watch2 is online\nUED 1 \[/);
    await terminal.type("whoel");
    await other.send("message watch1 during the upload");
    const screen = await terminal.waitFor(
      /watch2: during the upload\nUED 1 \[[#.]+\] +\d+% [^\n]*\nwatch1> whoel$/,
    );
    assert.equal(screen.match(/UED 1 \[/g)?.length, 1, "one progress line, no stale copies");
    await terminal.keys("C-u", "C-c");
    await terminal.waitFor(/Cancelling UED 1 \(Ctrl-C\)/);
    // What the socket buffers hold reaches the server, then the cancellation.
    proxy.resume();
    await terminal.waitFor(/Error: upload of file 1 cancelled; the server dropped it\nwatch1>$/);
    assert.doesNotMatch(await terminal.screen(), /UED 1 \[/, "the progress line is gone");
    await terminal.type("SCS 1 SUM");
    await terminal.keys("Enter");
    await terminal.waitFor(/Error: [^\n]*file 1[^\n]*\nwatch1>$/);
  },
});

Deno.test({
  name: "at logout waiting for an upload, a second Ctrl-C abandons it and exits 130",
  ignore,
  async fn() {
    await using server = await ServerProcess.start();
    await using upload = await stalledUpload(server);
    const { terminal, proxy } = upload;
    await terminal.type("OUT");
    await terminal.keys("Enter");
    await terminal.waitFor(/Waiting for 1 transfer to finish before logging out/);
    await terminal.keys("C-c");
    await terminal.waitFor(/press Ctrl-C again to abandon them/);
    await terminal.keys("C-c");
    await terminal.waitFor(/Abandoned 1 transfer; logged out without waiting for them/);
    assert.equal(await terminal.exitCode(), 130);
    // The server logs the device out once the connection is gone.
    proxy.resume();
    await server.waitForLog(/watch1 left/, 20_000);
  },
});
