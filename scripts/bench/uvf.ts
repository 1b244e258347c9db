/**
 * UVF benchmark: a 256 MiB file sent endpoint to endpoint (sender, receiver and relay
 * each in their own `deno` process) at 0% loss, in {@linkcode UVF_TFTP_ROUNDS} rounds
 * interleaved with windowed TFTP (atftpd/atftp, blksize 1428, windowsize 64), then through
 * the seeded lossy relay at 0%, 1%, 5%, 10% and 25% loss, and a raw TCP copy (socat), in
 * the same run. Everything on 127.0.0.1 in a temp dir.
 *
 * @module
 */

import { newTicketKey, newTransferId, sealTicket } from "../../p2p/mod.ts";
import { toHex } from "../../p2p/ticket.ts";
import { writeAll } from "../../internal/mod.ts";
import { LineCollector } from "../../tests/_helpers/line_collector.ts";
import { installMissing } from "../tools.ts";
import { median, stopProcess, table, timed } from "./helpers.ts";
import { socatCopy } from "./socat_copy.ts";
import { startToolServer } from "./tool_server.ts";

/** Size of the benchmark file. */
export const BENCH_FILE_BYTES = 256 * 1024 * 1024;
/** One run may take at most this long before it is killed. */
const RUN_TIMEOUT_MS = 300_000;
/** How long a peer or the relay may take to print its port. */
const START_TIMEOUT_MS = 30_000;

const here = new URL(".", import.meta.url).pathname;
/** The peer script of this checkout (`uvfRun` may be given another checkout's). */
export const PEER_SCRIPT = `${here}uvf_peer.ts`;
const relayScript = `${here}../lossy_relay.ts`;

/** One benchmark row. */
export interface Row {
  name: string;
  ms: number;
  retransmits?: number;
  /** Retransmission-timer expiries of the sender. */
  rtoExpiries?: number;
  rssSender?: number;
  rssReceiver?: number;
  /** CPU time of the sender / receiver process, ms. */
  cpuSender?: number;
  cpuReceiver?: number;
  /** CPU time of the sender / receiver from its endpoint being ready to the file being in,
   * ms (start-up left out). */
  transferCpuSender?: number | undefined;
  transferCpuReceiver?: number | undefined;
  /** Datagrams the sender sent / the receiver got (all types). */
  datagramsOut?: number;
  datagramsIn?: number;
  /** Datagrams the receiver sent (ACKs, FIN_ACK) and in how many sends. */
  datagramsBack?: number;
  sendsReceiver?: number;
  /** Socket sends / reads of the sender and the receiver (below the datagram counts with
   * segmentation offload and receive coalescing). */
  sendsSender?: number;
  readsReceiver?: number;
  /** CPU ms per thread name, sender and receiver. */
  threadsSender?: Record<string, number>;
  threadsReceiver?: Record<string, number>;
  ok: boolean;
  note?: string;
}

/**
 * `deno run` arguments of a UVF peer, with extra flags from `UVF_DENO_FLAGS` (e.g.
 * `--deny-ffi` to measure the transport without socket offloads); its role and
 * arguments follow.
 */
function peerArgs(peerScript: string): string[] {
  const extra = (Deno.env.get("UVF_DENO_FLAGS") ?? "").split(" ").filter((f) => f !== "");
  return ["run", "-A", ...extra, "--unstable-net", peerScript];
}

async function sha256sum(path: string): Promise<string> {
  const out = await new Deno.Command("sha256sum", { args: [path] }).output();
  return new TextDecoder().decode(out.stdout).split(" ")[0]!;
}

/** What the receiving peer prints once the file is in (`uvf_peer.ts receive`). */
interface ReceivedReport {
  path: string;
  sha256: string;
  peakRssKb: number;
  cpuMs: number;
  transferCpuMs?: number;
  stats: { datagramsIn: number; reads: number; datagramsOut: number; sends: number };
  threads: Record<string, number>;
}

/** The first JSON line a peer or the relay prints at or after line `from`. */
async function jsonLine<T>(out: LineCollector, from: number, what: string): Promise<T> {
  const index = await out.waitFor((line) => line.startsWith("{"), START_TIMEOUT_MS, from)
    .catch((error) => {
      throw new Error(`${what}: ${(error as Error).message}`);
    });
  return JSON.parse(out.lines[index]!) as T;
}

/**
 * One UVF transfer of `src` between two fresh endpoint processes (through the lossy relay
 * when `viaRelay`). `env` is passed to both peers (e.g. `UVF_LIMITS`); `peerScript` may be
 * another checkout's `uvf_peer.ts`, to compare two commits run for run.
 */
export async function uvfRun(
  dir: string,
  src: string,
  loss: number,
  viaRelay = loss > 0,
  env: Record<string, string> = {},
  peerScript = PEER_SCRIPT,
): Promise<Row> {
  const name = viaRelay ? `UVF via relay, ${loss * 100}% loss` : "UVF, 0% loss";
  const inDir = await Deno.makeTempDir({ dir, prefix: `uvf_in_${loss}_${viaRelay}_` });
  const key = newTicketKey();
  const size = (await Deno.stat(src)).size;
  const receiver = new Deno.Command(Deno.execPath(), {
    args: [...peerArgs(peerScript), "receive", inDir, toHex(key), "bob"],
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const receiverOut = new LineCollector(receiver.stdout);
  let relay: Deno.ChildProcess | undefined;
  let relayOut: LineCollector | undefined;
  try {
    // The receiver and the relay bind port 0 and print the port they got.
    const { port } = await jsonLine<{ port: number }>(receiverOut, 0, "the receiver's port");
    let target = port;
    if (viaRelay) {
      relay = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--unstable-net",
          relayScript,
          "--target",
          `127.0.0.1:${port}`,
          "--loss",
          String(loss),
          "--seed",
          "7",
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      relayOut = new LineCollector(relay.stdout);
      target = (await jsonLine<{ port: number }>(relayOut, 0, "the relay's port")).port;
    }
    const ticket = sealTicket(key, {
      kind: "file",
      transferId: newTransferId(),
      from: "alice",
      to: "bob",
      filename: "bench.bin",
      size,
      expiresAt: Date.now() + 3_600_000,
    });
    const sender = await new Deno.Command(Deno.execPath(), {
      args: [
        ...peerArgs(peerScript),
        "send",
        "127.0.0.1",
        String(target),
        src,
        JSON.stringify(ticket),
      ],
      env,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
    }).output();
    const sOut = new TextDecoder().decode(sender.stdout).trim();
    if (!sender.success || !sOut) {
      return {
        name,
        ms: NaN,
        ok: false,
        note: new TextDecoder().decode(sender.stderr).slice(0, 200),
      };
    }
    const s = JSON.parse(sOut.split("\n").pop()!);
    const r = await jsonLine<ReceivedReport>(receiverOut, 1, "the receiver's file");
    const ok = r.sha256 === s.result.sha256 && (await sha256sum(r.path)) === (await sha256sum(src));
    return {
      name,
      ms: s.result.ms,
      retransmits: s.result.retransmits,
      rtoExpiries: s.result.rtoExpiries,
      rssSender: s.peakRssKb,
      rssReceiver: r.peakRssKb,
      cpuSender: s.cpuMs,
      cpuReceiver: r.cpuMs,
      transferCpuSender: s.transferCpuMs,
      transferCpuReceiver: r.transferCpuMs,
      datagramsOut: s.stats?.datagramsOut,
      datagramsIn: r.stats.datagramsIn,
      sendsSender: s.stats?.sends,
      readsReceiver: r.stats.reads,
      datagramsBack: r.stats.datagramsOut,
      sendsReceiver: r.stats.sends,
      threadsSender: s.threads,
      threadsReceiver: r.threads,
      ok,
    };
  } finally {
    if (relay) {
      await relay.stdin.close().catch(() => {});
      await stopProcess(relay);
      await relayOut?.done;
    }
    await stopProcess(receiver);
    await receiverOut.done;
  }
}

async function tcpRun(dir: string, src: string): Promise<Row> {
  const dst = `${dir}/tcp_out.bin`;
  const copy = await socatCopy(src, dst);
  const ok = !copy.failure && (await sha256sum(dst)) === (await sha256sum(src));
  return { name: "TCP copy (socat)", ms: copy.ms, ok, ...(copy.failure && { note: copy.failure }) };
}

/** One windowed TFTP download of `src` (atftpd + atftp, blksize 1428, windowsize 64). */
export async function tftpRun(dir: string, src: string): Promise<Row> {
  const root = await Deno.makeTempDir({ dir, prefix: "tftp_root_" });
  await Deno.copyFile(src, `${root}/bench.bin`);
  await Deno.chmod(root, 0o777);
  // atftpd cannot bind port 0 (`--port 0` means 69): it gets a port.
  await using server = await startToolServer({
    transport: "udp",
    port: "chosen",
    command: (port) => [
      "atftpd",
      "--daemon",
      "--no-fork",
      "--port",
      String(port),
      "--bind-address",
      "127.0.0.1",
      "--user",
      "root.root",
      "--logfile",
      "/dev/null",
      root,
    ],
  });
  const dst = `${root}.out`;
  let client: Deno.CommandOutput | undefined;
  const ms = await timed(async () => {
    client = await new Deno.Command("atftp", {
      args: [
        "--option",
        "blksize 1428",
        "--option",
        "windowsize 64",
        "-g",
        "-r",
        "bench.bin",
        "-l",
        dst,
        "127.0.0.1",
        String(server.port),
      ],
      stdout: "null",
      stderr: "piped",
      signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
    }).output();
  });
  const ok = client!.success && (await sha256sum(dst)) === (await sha256sum(src));
  return {
    name: "TFTP (atftp, blksize 1428, windowsize 64)",
    ms,
    ok,
    note: client!.success ? "" : new TextDecoder().decode(client!.stderr).slice(0, 200),
  };
}

/**
 * Writes a pseudo-random benchmark file.
 *
 * @param path where.
 * @param bytes its size (a multiple of 1 MiB).
 */
export async function writeBenchFile(path: string, bytes: number): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true });
  const block = crypto.getRandomValues(new Uint8Array(65_536));
  const big = new Uint8Array(1 << 20);
  for (let i = 0; i < big.length; i += block.length) big.set(block, i);
  for (let left = bytes; left > 0; left -= big.length) {
    big[0] = left & 0xff; // vary the blocks a little
    await writeAll(f, big);
  }
  f.close();
}

function mbps(ms: number): string {
  return Number.isFinite(ms) ? (BENCH_FILE_BYTES / ms / 1000).toFixed(1) : "–";
}

/**
 * Rounds of the 0%-loss comparison: a direct UVF run and a TFTP run each, their order
 * swapped from round to round. One run of each swung from 0.11× to 0.73× between two runs
 * of the same code on this shared machine; the median of per-round ratios moves less.
 */
export const UVF_TFTP_ROUNDS = 3;

/** The run with the median time of `rows` (the middle one of an odd count). */
function medianRow(rows: Row[]): Row {
  const ok = rows.filter((r) => Number.isFinite(r.ms)).sort((a, b) => a.ms - b.ms);
  return ok[(ok.length - 1) >> 1] ?? rows[0]!;
}

/**
 * Runs the UVF benchmark and returns a Markdown section.
 *
 * @returns Markdown with one table row per run and the UVF/TFTP ratio.
 */
export async function runUvfBench(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "uvf_bench_" });
  try {
    const src = `${dir}/bench.bin`;
    await writeBenchFile(src, BENCH_FILE_BYTES);
    const missing = await installMissing(["socat", "atftp", "atftpd"]);
    const withTftp = !missing.includes("atftp") && !missing.includes("atftpd");
    const loadBefore = Deno.loadavg();
    const direct: Row[] = [];
    const tftps: Row[] = [];
    for (let round = 0; round < UVF_TFTP_ROUNDS; round++) {
      if (withTftp && round % 2 === 1) tftps.push(await tftpRun(dir, src));
      direct.push(await uvfRun(dir, src, 0));
      if (withTftp && round % 2 === 0) tftps.push(await tftpRun(dir, src));
    }
    const loadAfterRounds = Deno.loadavg();
    const rows: Row[] = [medianRow(direct)];
    // The relay is a Deno process of its own and caps the rate, so loss is compared with
    // a lossless run through the same relay.
    rows.push(await uvfRun(dir, src, 0, true));
    for (const loss of [0.01, 0.05, 0.1, 0.25]) rows.push(await uvfRun(dir, src, loss));
    if (!missing.includes("socat")) rows.push(await tcpRun(dir, src));
    if (withTftp) rows.push(medianRow(tftps));
    const lines = [
      "## UVF (peer-to-peer UDP file transfer)",
      "",
      `256 MiB file on 127.0.0.1, ${Deno.build.os}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}; ` +
      "UVF sender, receiver and relay each in their own process; payload 1400 bytes per datagram, " +
      "every datagram after START sealed (ChaCha20-Poly1305, UVF version 4). The direct UVF and " +
      `the TFTP rows are the median of ${UVF_TFTP_ROUNDS} rounds, each a UVF run and a TFTP run ` +
      "one after the other (order swapped every round); the other rows are one run each.",
      "",
      table(
        [
          "run",
          "wall time (ms)",
          "MB/s",
          "datagrams retransmitted",
          "peak RSS sender / receiver (MiB)",
          "intact",
        ],
        rows.map((r) => [
          r.name,
          Number.isFinite(r.ms) ? r.ms.toFixed(0) : "failed",
          mbps(r.ms),
          r.retransmits ?? "–",
          r.rssSender
            ? `${(r.rssSender / 1024).toFixed(0)} / ${(r.rssReceiver! / 1024).toFixed(0)}`
            : "–",
          r.ok ? "yes" : `no ${r.note ?? ""}`,
        ]),
        ["left", "right", "right", "right"],
      ),
      "",
      // One line each; the ones with nothing to say are left out.
      ...[
        ratioLine(direct, tftps),
        cpuLine(direct),
        lossRatio(rows, 0.1),
        lossRatio(rows, 0.25),
        `Load average (1, 5, 15 min) on ${navigator.hardwareConcurrency} cores: ` +
        `${loadText(loadBefore)} before the section, ${loadText(loadAfterRounds)} after the ` +
        `UVF and TFTP rounds, ${loadText(Deno.loadavg())} at its end.`,
        missing.length ? `Missing tools (skipped): ${missing.join(", ")}.` : "",
      ].filter((line) => line !== ""),
    ];
    return lines.join("\n") + "\n";
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function loadText(load: number[]): string {
  return load.map((x) => x.toFixed(2)).join(", ");
}

/** The UVF/TFTP throughput ratio at 0% loss: the median of the rounds' and each round's. */
function ratioLine(direct: Row[], tftps: Row[]): string {
  const ratios = direct.map((u, i) => tftps[i]!.ms / u.ms).filter(Number.isFinite);
  if (ratios.length === 0 || tftps.length !== direct.length) {
    return "UVF/TFTP ratio: TFTP run unavailable.";
  }
  const intact = direct.every((r) => r.ok) && tftps.every((r) => r.ok);
  return `UVF/TFTP throughput ratio at 0% loss: **${median(ratios).toFixed(2)}** ` +
    `(target ≥ 1), the median of the rounds' ${ratios.map((r) => r.toFixed(2)).join(", ")}; UVF ${
      direct.map((r) => `${mbps(r.ms)}`).join(", ")
    } MB/s, TFTP ${tftps.map((r) => `${mbps(r.ms)}`).join(", ")} MB/s${
      intact ? ", every copy intact" : ", NOT every copy intact"
    }.`;
}

/** CPU per direct transfer, start-up left out (the steadier measure on a shared machine). */
function cpuLine(direct: Row[]): string {
  const sender = direct.map((r) => r.transferCpuSender).filter((x) => x !== undefined);
  const receiver = direct.map((r) => r.transferCpuReceiver).filter((x) => x !== undefined);
  if (sender.length === 0 || receiver.length === 0) return "";
  const datagrams = Math.ceil(BENCH_FILE_BYTES / 1400);
  const perDatagram = (ms: number) => (ms * 1000 / datagrams).toFixed(1);
  return `CPU of a direct transfer, start-up left out (median of the rounds): sender ` +
    `${median(sender).toFixed(0)} ms, receiver ${median(receiver).toFixed(0)} ms, i.e. ` +
    `${perDatagram(median(sender))} and ${perDatagram(median(receiver))} µs per DATA datagram.`;
}

/** How much longer a lossy run took than the lossless run through the same relay. */
function lossRatio(rows: Row[], loss: number): string {
  const base = rows.find((r) => r.name === "UVF via relay, 0% loss");
  const lossy = rows.find((r) => r.name === `UVF via relay, ${loss * 100}% loss`);
  if (!base || !lossy || !Number.isFinite(base.ms) || !Number.isFinite(lossy.ms)) return "";
  return `At ${loss * 100}% loss: ${(lossy.ms / base.ms).toFixed(2)}× the lossless time through ` +
    `the same relay, ${lossy.ok ? "intact" : "NOT intact"}.`;
}
