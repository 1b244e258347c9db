/**
 * `deno task demo`: a demo network on this machine. Starts a server in `demo/` with the
 * sample accounts of `demo/credentials.txt`, runs two scripted edges that generate,
 * upload, compute and list, keeps the second one online, and leaves the server running
 * so you can connect your own edge. Ctrl-C stops everything.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { startServer } from "../server/mod.ts";
import { numberOption, parseCli, usageError } from "./_cli.ts";

const USAGE = `usage: deno task demo [port]
  a demo server on port (default 0: any free one) with two scripted edges; Ctrl-C stops it`;

const root = fileURLToPath(new URL("../", import.meta.url));
const dataDir = `${root}demo`;
const { positionals } = parseCli(Deno.args, { usage: USAGE, options: {}, positionals: true });
if (positionals.length > 1) usageError(USAGE, "name one port");
const port = numberOption(positionals[0], {
  name: "<port>",
  min: 0,
  max: 65_535,
  fallback: 0,
  whole: true,
  usage: USAGE,
});

const server = await startServer({
  attempts: 3,
  port,
  dataDir,
  log: (l) => console.log(`[server] ${l}`),
});
console.log(`demo server data in ${dataDir}`);

async function edge(name: string, lines: string[], keepOpen: boolean) {
  const dir = `${dataDir}/edge-${name}`;
  await Deno.mkdir(dir, { recursive: true });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      `${root}deno.json`,
      `${root}mod.ts`,
      "edge",
      "127.0.0.1",
      String(server.port),
      "0",
      "--dir",
      dir,
    ],
    stdin: "piped",
    // Both piped and every line prefixed: an edge's output (a progress bar on a terminal's
    // stderr among it) never runs into another's line.
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const done = (async () => {
    await writer.write(new TextEncoder().encode(lines.map((l) => `${l}\n`).join("")));
    if (!keepOpen) await writer.close();
  })();
  const printed = Promise.all([child.stdout, child.stderr].map(async (stream) => {
    let pending = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      pending += text;
      const parts = pending.split("\n");
      pending = parts.pop()!;
      for (const line of parts) console.log(`[${name}] ${line}`);
    }
    if (pending !== "") console.log(`[${name}] ${pending}`);
  }));
  return { child, writer, done, printed };
}

const second = await edge("watch2", ["watch2", "pw2", "EDG 1 1000", "UED 1"], true);
await second.done;
const first = await edge("watch1", [
  "watch1",
  "pw1",
  "EDG 1 100000",
  "UED 1",
  "SCS 1 SUM",
  "SCS 1 AVERAGE",
  "SCS 1 MAX",
  "SCS 1 MIN",
  "AED",
  "OUT",
], false);
await first.child.status;
await first.printed;
await Deno.mkdir(`${dataDir}/edge-watch3`, { recursive: true });
console.log(
  `\ndemo network is up. watch2 stays online. Connect your own edge with\n` +
    `  deno run -A mod.ts edge 127.0.0.1 ${server.port} 0 --dir demo/edge-watch3\n` +
    `and log in as watch3 / pw3 (accounts in demo/credentials.txt). Ctrl-C stops the demo.`,
);

const { promise: stop, resolve } = Promise.withResolvers<void>();
Deno.addSignalListener("SIGINT", resolve);
Deno.addSignalListener("SIGTERM", resolve);
await stop;
await second.writer.close().catch(() => {});
await second.child.status;
await server.close();
console.log("demo stopped");
Deno.exit(0);
