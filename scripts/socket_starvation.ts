/**
 * `deno run -A scripts/socket_starvation.ts [--loops N] [--work-ms W]`: shows why
 * `server/disk.ts` resumes its callers through a timer. N loops each await a file
 * operation (`Deno.stat`) and then do W ms of work, first straight on, then after a
 * zero-delay timer, while a second process measures the round trip of a one-byte echo on
 * a socket of this one. Run straight on, the echo waits for the loops; after the timer it
 * does not.
 *
 * @module
 */

const USAGE = "usage: deno run -A scripts/socket_starvation.ts [--loops N] [--work-ms W]";
const ECHOES = 200;

if (Deno.args[0] === "--client") {
  console.log(JSON.stringify(await echoRoundTrips(Number(Deno.args[1]))));
  Deno.exit(0);
}

if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
  console.log(USAGE);
  Deno.exit(0);
}

const options = { loops: 8, workMs: 1 };
for (let i = 0; i < Deno.args.length; i += 2) {
  const [flag, text] = [Deno.args[i]!, Deno.args[i + 1]];
  const value = Number(text);
  if (flag === "--loops" && Number.isInteger(value) && value >= 0 && value <= 1000) {
    options.loops = value;
  } else if (flag === "--work-ms" && text !== undefined && value >= 0 && value <= 100) {
    options.workMs = value;
  } else {
    const problem = flag === "--loops"
      ? `--loops needs a whole number 0..1000, not ${text ?? "nothing"}`
      : flag === "--work-ms"
      ? `--work-ms needs a number of milliseconds 0..100, not ${text ?? "nothing"}`
      : `unknown argument ${flag}`;
    console.error(`${problem}\n${USAGE}`);
    Deno.exit(2);
  }
}

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
