/**
 * CLI wrapper of the seeded lossy UDP relay (`tests/_helpers/lossy_relay.ts`).
 *
 * ```
 * deno run -A scripts/lossy_relay.ts --target 127.0.0.1:40000 --loss 0.05 \
 *   [--duplicate 0.01] [--reorder 0.01] [--reorder-ms 3] [--delay-ms 0] [--seed 1]
 * ```
 *
 * Prints `{"port":N}` once listening on 127.0.0.1, then runs until SIGINT/SIGTERM or
 * until stdin closes, and prints its counters as one JSON line on exit.
 *
 * @module
 */

import { startLossyRelay } from "../tests/_helpers/lossy_relay.ts";

function parse(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i += 2) {
    const k = args[i];
    const v = args[i + 1];
    if (!k?.startsWith("--") || v === undefined) throw new TypeError(`bad argument near ${k}`);
    out[k.slice(2)] = v;
  }
  return out;
}

async function main(): Promise<void> {
  let a: Record<string, string>;
  try {
    a = parse(Deno.args);
    if (!a.target) throw new TypeError("--target host:port is required");
  } catch (e) {
    console.error(
      `${
        (e as Error).message
      }\nusage: lossy_relay.ts --target host:port [--loss p] [--duplicate p] [--reorder p] [--reorder-ms n] [--delay-ms n] [--seed n]`,
    );
    Deno.exit(2);
  }
  const [hostname, port] = a.target!.split(":");
  const rate = (k: string) => Number(a[k] ?? 0);
  const cfg = {
    seed: Number(a.seed ?? 1),
    loss: rate("loss"),
    duplicate: rate("duplicate"),
    reorder: rate("reorder"),
    reorderMs: Number(a["reorder-ms"] ?? 3),
    delayMs: Number(a["delay-ms"] ?? 0),
  };
  const relay = startLossyRelay({
    target: { hostname: hostname!, port: Number(port) },
    forward: cfg,
    backward: { ...cfg, seed: cfg.seed + 1 },
  });
  console.log(JSON.stringify({ port: relay.addr.port }));
  const stop = Promise.withResolvers<void>();
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => stop.resolve());
  }
  (async () => {
    for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
    stop.resolve();
  })();
  await stop.promise;
  await relay.close();
  console.log(JSON.stringify({ counters: relay.counters }));
  Deno.exit(0);
}

if (import.meta.main) await main();
