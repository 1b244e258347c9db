/**
 * Hostile-device benchmark (SPEC §6 "Hostile devices"): how much one device flooding the
 * server with writes slows another device's commands, against the same device flooding
 * it with reads at the same rate. A victim asks `whoelse` over and over while an attacker
 * sends `block`/`unblock` (each a store write) or `whoelse` (a store read) at a fixed
 * rate without waiting for replies; the phases alternate in one run against one real
 * `iotnet server` process, so both floods meet the same machine. Reports the victim's
 * latency in each phase, medians and ranges over the rounds, and the ratio of the
 * write-flood p99 to the read-flood p99 against its target.
 *
 * @module
 */

import { join } from "node:path";
import { EdgeConnection } from "../../client/connection.ts";
import { BenchServer } from "./bench_server.ts";
import { formatMs, median, msNumber, percentile, sleep, table } from "./helpers.ts";

/** Requests a second the attacker sends in either flood. */
const FLOOD_RATE = 1_000;
/**
 * The attacker sends a burst every this many ms (its rate / 1000 × this, at once): a
 * device pipelining requests, as a hostile one would, rather than one at a time.
 */
const BURST_EVERY_MS = 100;
/** Length of each phase. */
const PHASE_MS = 3_000;
/** Rounds of (write flood, read flood); the order alternates from round to round. */
const ROUNDS = 7;
/** Pause between the victim's requests. */
const PROBE_GAP_MS = 2;
/** Target: the victim's p99 under writes at most this many times its p99 under reads. */
const TARGET_RATIO = 2;

type Flood = "none" | "write" | "read";

interface Phase {
  flood: Flood;
  /** The victim's `whoelse` latencies, ms. */
  latencies: number[];
  /** Attacker requests sent and answered ok. */
  sent: number;
  ok: number;
}

/** Runs the benchmark and returns its Markdown section. */
export async function runHostileBench(): Promise<string> {
  const work = await Deno.makeTempDir({ prefix: "iotnet-bench-hostile-" });
  await Deno.writeTextFile(
    join(work, "credentials.txt"),
    "victim pw\nattacker pw\ntarget pw\nbystander pw\n",
  );
  const server = await BenchServer.start(work, "fast");
  const phases: Phase[] = [];
  let complaints: string[] = [];
  try {
    const login = async (name: string) => {
      const c = await EdgeConnection.connect({ hostname: "127.0.0.1", port: server.port });
      await c.request("login", { name, password: "pw" });
      await c.request("udp_port", { port: 9 });
      return c;
    };
    const victim = await login("victim");
    const attacker = await login("attacker");
    // Someone for whoelse to list, so the reply is not empty.
    const bystander = await login("bystander");
    phases.push(await runPhase(victim, attacker, "none"));
    for (let round = 0; round < ROUNDS; round++) {
      const order: Flood[] = round % 2 === 0 ? ["write", "read"] : ["read", "write"];
      for (const flood of order) {
        const phase = await runPhase(victim, attacker, flood);
        console.log(
          `round ${round + 1} ${flood}: victim p50 ${formatMs(percentile(phase.latencies, 50))}, ` +
            `p99 ${
              formatMs(percentile(phase.latencies, 99))
            }; attacker ${phase.ok}/${phase.sent} ok`,
        );
        phases.push(phase);
      }
    }
    for (const c of [victim, attacker, bystander]) c.close();
  } finally {
    complaints = await server.stop();
    await Deno.remove(work, { recursive: true });
  }
  return markdown(phases, complaints);
}

/** One phase: the victim probes for {@linkcode PHASE_MS} while the attacker floods. */
async function runPhase(
  victim: EdgeConnection,
  attacker: EdgeConnection,
  flood: Flood,
): Promise<Phase> {
  const phase: Phase = { flood, latencies: [], sent: 0, ok: 0 };
  const replies: Promise<unknown>[] = [];
  const perBurst = Math.round(FLOOD_RATE * BURST_EVERY_MS / 1000);
  let blocked = false;
  const burst = () => {
    for (let i = 0; i < perBurst; i++) {
      phase.sent++;
      let reply: Promise<unknown>;
      if (flood === "write") {
        // Alternating on one target, so every request is a real change.
        reply = attacker.request(blocked ? "unblock" : "block", { device: "target" });
        blocked = !blocked;
      } else {
        reply = attacker.request("whoelse", {});
      }
      replies.push(reply.then(() => phase.ok++, () => {}));
    }
  };
  const timer = flood === "none" ? undefined : setInterval(burst, BURST_EVERY_MS);
  const end = performance.now() + PHASE_MS;
  while (performance.now() < end) {
    const began = performance.now();
    await victim.request("whoelse", {});
    phase.latencies.push(performance.now() - began);
    await sleep(PROBE_GAP_MS);
  }
  clearInterval(timer);
  await Promise.all(replies);
  // Leave the target unblocked for the next phase.
  if (blocked) await attacker.request("unblock", { device: "target" });
  return phase;
}

function markdown(phases: Phase[], complaints: string[]): string {
  const of = (flood: Flood) => phases.filter((p) => p.flood === flood);
  const p = (phase: Phase, q: number) => percentile(phase.latencies, q);
  const summary = (flood: Flood) => {
    const list = of(flood);
    const p50s = list.map((x) => p(x, 50));
    const p99s = list.map((x) => p(x, 99));
    const sent = list.reduce((a, x) => a + x.sent, 0);
    const ok = list.reduce((a, x) => a + x.ok, 0);
    return { list, p50s, p99s, sent, ok };
  };
  const alone = of("none")[0]!;
  const write = summary("write");
  const read = summary("read");
  const ratio = median(write.p99s) / median(read.p99s);
  const range = (values: number[]) =>
    `${msNumber(Math.min(...values))}–${formatMs(Math.max(...values))}`;
  const row = (name: string, s: ReturnType<typeof summary>) => [
    name,
    `${formatMs(median(s.p50s))} (${range(s.p50s)})`,
    `${formatMs(median(s.p99s))} (${range(s.p99s)})`,
    `${s.ok.toLocaleString("en")} / ${s.sent.toLocaleString("en")}`,
  ];
  return [
    "## Hostile device: a write flood against a read flood",
    "",
    `A victim device asks \`whoelse\` over and over (${PROBE_GAP_MS} ms apart) through a real`,
    `\`iotnet server\` process while an attacker device sends ${FLOOD_RATE.toLocaleString("en")} ` +
    `requests a second, a burst every ${BURST_EVERY_MS} ms without waiting for replies:`,
    "`block`/`unblock` of one device in turn (each a store write, durable before its reply)",
    `or \`whoelse\` (a store read). Phases of ${PHASE_MS / 1000} s alternate, ${ROUNDS} of each ` +
    "(the order swapped every round),",
    "after one without a flood; all devices are in the benchmark process.",
    "",
    table(
      ["attacker sends", "victim p50: median (range)", "victim p99: median (range)", "attacker ok"],
      [
        [
          "nothing",
          formatMs(p(alone, 50)),
          formatMs(p(alone, 99)),
          "—",
        ],
        row("`block`/`unblock` (writes)", write),
        row("`whoelse` (reads)", read),
      ],
    ),
    "",
    `Victim p99 under the write flood / under the read flood (medians): ${ratio.toFixed(2)}× ` +
    `(target ≤ ${TARGET_RATIO}×: ${ratio <= TARGET_RATIO ? "pass" : "FAIL"}).`,
    `Victim p99 of each round, write flood: ${write.p99s.map(msNumber).join(", ")} ms; ` +
    `read flood: ${read.p99s.map(msNumber).join(", ")} ms.`,
    ...(complaints.length > 0
      ? ["", `Server log lines reporting a problem: ${complaints.slice(0, 5).join("; ")}`]
      : []),
  ].join("\n");
}
