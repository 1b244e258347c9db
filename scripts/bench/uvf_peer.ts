/**
 * One side of a UVF benchmark in its own process. Prints JSON lines on stdout.
 *
 * ```
 * deno run -A scripts/bench/uvf_peer.ts receive <dir> <keyHex> <name>
 *   → {"port":N}  … then {"event":"file",...,"peakRssKb":K}; stays up (re-answering a
 *     late FIN whose FIN_ACK was lost, as a real device does) until SIGTERM
 * deno run -A scripts/bench/uvf_peer.ts send <host> <port> <path> <signedTicketJson>
 *   → {"result":{...},"peakRssKb":K} and exits
 * ```
 *
 * Both report `cpuMs` (the whole process: start-up, module loading, socket tuning
 * included) and `transferCpuMs`, the CPU spent from the endpoint being ready (the sender:
 * from just before `sendFile`) to the file being in: start-up costs a few hundred ms of
 * CPU on a loaded machine, which hides per-datagram changes in `cpuMs`.
 *
 * @module
 */

import { Session } from "node:inspector";
import { cpuUsage } from "node:process";
import { type P2pLimits, PeerEndpoint } from "../../p2p/mod.ts";
import { fromHex } from "../../p2p/ticket.ts";
import { peakRss, statCpuSeconds } from "./helpers.ts";

/** CPU time (user + system) this process used so far, ms. */
function cpuMs(): number {
  const u = cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * CPU ms per thread name of this process, plus `<name> sys` for the kernel part (from
 * /proc/self/task; Deno allows that only with --allow-all, else `{}`).
 */
function threadCpuMs(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const t of Deno.readDirSync("/proc/self/task")) {
      const stat = Deno.readTextFileSync(`/proc/self/task/${t.name}/stat`);
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const { user, system } = statCpuSeconds(stat);
      out[name] = (out[name] ?? 0) + Math.round((user + system) * 1000);
      out[`${name} sys`] = (out[`${name} sys`] ?? 0) + Math.round(system * 1000);
    }
  } catch {
    // not Linux, or not --allow-all
  }
  return out;
}

/** This process's peak resident memory in KiB. */
function peakRssKb(): number {
  return peakRss(Deno.pid) / 1024;
}

/** Optional limit overrides for experiments: `UVF_LIMITS='{"windowPackets":256}'`. */
function limits(): Partial<P2pLimits> {
  const raw = Deno.env.get("UVF_LIMITS");
  return raw ? JSON.parse(raw) : {};
}

/**
 * When `UVF_CPU_PROFILE` names a file prefix, records a V8 CPU profile of this peer and
 * returns a function that writes it to `<prefix>.<mode>.cpuprofile` (summarise it with
 * `scripts/experiments/uvf_profile.ts`).
 */
function startProfile(mode: string): () => Promise<void> {
  const prefix = Deno.env.get("UVF_CPU_PROFILE");
  if (!prefix) return () => Promise.resolve();
  const s = new Session();
  s.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      s.post(method, params ?? {}, (e: Error | null, r?: unknown) => e ? reject(e) : resolve(r))
    );
  const started = post("Profiler.enable")
    .then(() => post("Profiler.setSamplingInterval", { interval: 100 }))
    .then(() => post("Profiler.start"));
  return async () => {
    await started;
    const r = await post("Profiler.stop") as { profile: unknown };
    await Deno.writeTextFile(`${prefix}.${mode}.cpuprofile`, JSON.stringify(r.profile));
    s.disconnect();
  };
}

async function main(args: string[]): Promise<void> {
  const [mode, ...rest] = args;
  const stopProfile = startProfile(mode ?? "peer");
  if (mode === "receive") {
    const [dir, keyHex, name] = rest as [string, string, string];
    const ep = await PeerEndpoint.open({
      hostname: "127.0.0.1",
      port: 0,
      receiveDir: dir,
      limits: limits(),
    });
    ep.setTicketKey(fromHex(keyHex), name);
    const readyCpuMs = cpuMs();
    const done = Promise.race([
      ep.events.once("file"),
      ep.events.once("file_failed").then((e) => Promise.reject(new Error(e.message))),
    ]);
    const stop = Promise.withResolvers<void>();
    const onTerm = () => stop.resolve();
    Deno.addSignalListener("SIGTERM", onTerm);
    console.log(JSON.stringify({ port: ep.port }));
    try {
      const e = await Promise.race([done, stop.promise]);
      if (e === undefined) return; // stopped before the file arrived
      await stopProfile();
      console.log(
        JSON.stringify({
          event: "file",
          ...e,
          stats: ep.stats,
          peakRssKb: peakRssKb(),
          cpuMs: cpuMs(),
          transferCpuMs: cpuMs() - readyCpuMs,
          threads: threadCpuMs(),
        }),
      );
      // The sender may still be waiting for a FIN_ACK that was lost: keep answering
      // (the endpoint lingers) until the benchmark is done with us.
      await stop.promise;
    } finally {
      Deno.removeSignalListener("SIGTERM", onTerm);
      await ep.close();
    }
  } else if (mode === "send") {
    const [host, port, path, ticketJson] = rest as [string, string, string, string];
    const ep = await PeerEndpoint.open({
      hostname: "127.0.0.1",
      port: 0,
      receiveDir: Deno.cwd(),
      limits: limits(),
    });
    try {
      const readyCpuMs = cpuMs();
      const result = await ep.sendFile({
        to: { hostname: host, port: Number(port) },
        path,
        ticket: JSON.parse(ticketJson),
      });
      await stopProfile();
      console.log(
        JSON.stringify({
          result,
          stats: ep.stats,
          peakRssKb: peakRssKb(),
          cpuMs: cpuMs(),
          transferCpuMs: cpuMs() - readyCpuMs,
          threads: threadCpuMs(),
        }),
      );
    } finally {
      await ep.close();
    }
  } else {
    console.error(
      "usage: uvf_peer.ts receive <dir> <keyHex> <name> | send <host> <port> <path> <ticketJson>",
    );
    Deno.exit(2);
  }
}

if (import.meta.main) await main(Deno.args);
