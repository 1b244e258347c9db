/**
 * `deno run -A scripts/experiments/socket_starvation.ts [--loops N] [--work-ms W]`: shows
 * why `server/disk.ts` resumes its callers through a timer (docs/DECISIONS.md, "After a
 * file operation the server resumes in a new task"). N loops each await a file operation
 * (`Deno.stat`) and then do W ms of work, first straight on, then after a zero-delay
 * timer, while a second process measures the round trip of a one-byte echo on a socket of
 * this one. Run straight on, the echo waits for the loops; after the timer it does not.
 *
 * @module
 */

import { numberOption, parseCli } from "../_cli.ts";

const USAGE = `usage: deno run -A scripts/experiments/socket_starvation.ts [--loops N] [--work-ms W]
  --loops    loops doing a file operation and then work, 0..1000 (default 8)
  --work-ms  milliseconds of work after each file operation, 0..100 (default 1)`;
const ECHOES = 200;

if (Deno.args[0] === "--client") {
  console.log(JSON.stringify(await echoRoundTrips(Number(Deno.args[1]))));
  Deno.exit(0);
}

const { values } = parseCli(Deno.args, {
  usage: USAGE,
  options: { loops: { type: "string" }, "work-ms": { type: "string" } },
});
const options = {
  loops: numberOption(values.loops, {
    whole: true,
    name: "--loops",
    min: 0,
    max: 1000,
    fallback: 8,
    usage: USAGE,
  }),
  workMs: numberOption(values["work-ms"], {
    name: "--work-ms",
    min: 0,
    max: 100,
    fallback: 1,
    usage: USAGE,
  }),
};

for (const yieldToTimers of [false, true]) {
  const rtts = await measure(options.loops, options.workMs, yieldToTimers);
  const at = (p: number) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))]!;
  console.log(
    `${options.loops} loops, ${options.workMs} ms of work after each file operation, ` +
      `${yieldToTimers ? "after a timer" : "straight on "}: echo round trip p50 ` +
      `${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms`,
  );
}

/** Echo round trips (sorted, ms) while the loops run in this process. */
async function measure(loops: number, workMs: number, yieldToTimers: boolean): Promise<number[]> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  void (async () => {
    for await (const conn of listener) void echo(conn);
  })().catch(() => {});
  let running = true;
  const workers = Array.from({ length: loops }, async () => {
    while (running) {
      await Deno.stat(".");
      if (yieldToTimers) await new Promise((resolve) => setTimeout(resolve, 0));
      for (const end = performance.now() + workMs; performance.now() < end;) { /* work */ }
    }
  });
  const client = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, "--client", String(listener.addr.port)],
    stdout: "piped",
  });
  const { stdout } = await client.output();
  running = false;
  await Promise.all(workers);
  return (JSON.parse(new TextDecoder().decode(stdout)) as number[]).sort((a, b) => a - b);
}

async function echo(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(16);
  try {
    for (let n; (n = await conn.read(buffer)) !== null;) await conn.write(buffer.subarray(0, n));
  } catch { /* closed */ }
}

/** The client side: one byte out and back, every 5 ms. */
async function echoRoundTrips(port: number): Promise<number[]> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const byte = new Uint8Array(1);
  const rtts: number[] = [];
  for (let i = 0; i < ECHOES; i++) {
    const began = performance.now();
    await conn.write(byte);
    await conn.read(byte);
    rtts.push(performance.now() - began);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return rtts;
}
