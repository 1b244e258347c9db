/**
 * One side of a UVF benchmark in its own process. Prints JSON lines on stdout.
 *
 * ```
 * deno run -A scripts/bench/uvf_peer.ts receive <dir> <keyHex> <name>
 *   → {"port":N}  … then {"event":"file",...,"peakRssKb":K} and exits
 * deno run -A scripts/bench/uvf_peer.ts send <host> <port> <path> <signedTicketJson>
 *   → {"result":{...},"peakRssKb":K} and exits
 * ```
 *
 * @module
 */

import { type P2pLimits, PeerEndpoint } from "../../p2p/mod.ts";
import { fromHex } from "../../p2p/ticket.ts";

function peakRssKb(): number {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync("/proc/self/status"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Optional limit overrides for experiments: `UVF_LIMITS='{"windowPackets":256}'`. */
function limits(): Partial<P2pLimits> {
  const raw = Deno.env.get("UVF_LIMITS");
  return raw ? JSON.parse(raw) : {};
}

async function main(args: string[]): Promise<void> {
  const [mode, ...rest] = args;
  if (mode === "receive") {
    const [dir, keyHex, name] = rest as [string, string, string];
    const ep = await PeerEndpoint.open({
      hostname: "127.0.0.1",
      port: 0,
      receiveDir: dir,
      limits: limits(),
    });
    ep.setTicketKey(fromHex(keyHex), name);
    const done = Promise.race([
      ep.events.once("file"),
      ep.events.once("file_failed").then((e) => Promise.reject(new Error(e.message))),
    ]);
    console.log(JSON.stringify({ port: ep.port }));
    try {
      const e = await done;
      console.log(JSON.stringify({ event: "file", ...e, stats: ep.stats, peakRssKb: peakRssKb() }));
    } finally {
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
      const result = await ep.sendFile({
        to: { hostname: host, port: Number(port) },
        path,
        ticket: JSON.parse(ticketJson),
      });
      console.log(JSON.stringify({ result, stats: ep.stats, peakRssKb: peakRssKb() }));
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
