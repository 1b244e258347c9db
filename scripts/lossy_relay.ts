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
import { numberOption, parseCli, usageError } from "./_cli.ts";

const USAGE =
  `usage: deno run -A scripts/lossy_relay.ts --target host:port [--loss p] [--duplicate p]
    [--reorder p] [--reorder-ms n] [--delay-ms n] [--seed n]
  rates p are 0..1 (default 0); --reorder-ms default 3, --delay-ms default 0, --seed default 1`;

async function main(): Promise<void> {
  const { values: a } = parseCli(Deno.args, {
    usage: USAGE,
    options: Object.fromEntries(
      ["target", "loss", "duplicate", "reorder", "reorder-ms", "delay-ms", "seed"]
        .map((name) => [name, { type: "string" as const }]),
    ),
  });
  const target = /^(.+):(\d+)$/.exec(a.target ?? "");
  if (!target) usageError(USAGE, "--target host:port is required");
  const rate = (name: string) =>
    numberOption(a[name], { name: `--${name}`, min: 0, max: 1, fallback: 0, usage: USAGE });
  const cfg = {
    seed: numberOption(a.seed, {
      name: "--seed",
      min: 0,
      max: 2 ** 32 - 1,
      fallback: 1,
      whole: true,
      usage: USAGE,
    }),
    loss: rate("loss"),
    duplicate: rate("duplicate"),
    reorder: rate("reorder"),
    reorderMs: numberOption(a["reorder-ms"], {
      name: "--reorder-ms",
      min: 0,
      max: 60_000,
      fallback: 3,
      usage: USAGE,
    }),
    delayMs: numberOption(a["delay-ms"], {
      name: "--delay-ms",
      min: 0,
      max: 60_000,
      fallback: 0,
      usage: USAGE,
    }),
  };
  const relay = startLossyRelay({
    target: { hostname: target[1]!, port: Number(target[2]) },
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
