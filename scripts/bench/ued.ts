/**
 * UED and SCS benchmark: uploads a 10,000,000-sample file (about 104 MB) to a real
 * server process, beside a plain TCP copy of the same file with socat, and over TLS to a
 * second server process started with certificates from `iotnet cert`, beside a TLS copy
 * with socat's OPENSSL address type (issue 13: target ≤ 2×); the four kinds of run are
 * interleaved. Samples the server's RSS during uploads of two sizes to show it does not
 * grow with the file; then times SCS against gawk computing the same four figures over
 * the file.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EdgeConnection } from "../../client/connection.ts";
import { generateDataFile } from "../../client/generate.ts";
import { ensureTools } from "../tools.ts";
import { BenchServer } from "./bench_server.ts";
import {
  mb,
  median,
  percentile,
  reapedChildrenCpuSeconds,
  rssBytes,
  sampleRss,
  sh,
  statCpuSeconds,
  table,
  timed,
} from "./helpers.ts";
import { socatCopy, type SocatTls } from "./socat_copy.ts";

const SAMPLES = 10_000_000;
const SMALL_SAMPLES = 1_000_000;
const SCS_ROUNDS = 200;
/** Rounds of the upload comparison: each runs UED, socat TCP, UED over TLS, socat TLS. */
const ROUNDS = 5;
/** UED over TLS against socat's TLS copy (issue 13). */
const TLS_TARGET_RATIO = 2;

const root = fileURLToPath(new URL("../../", import.meta.url));

/** Runs the benchmark and returns its Markdown section. */
export async function runUedBench(): Promise<string> {
  await ensureTools(["socat", "gawk"]);
  const work = await Deno.makeTempDir({ prefix: "iotnet-bench-ued-" });
  const big = join(work, "bench-1.txt");
  const small = join(work, "bench-2.txt");
  console.log(`generating ${SAMPLES} samples`);
  const bytes = await generateDataFile(big, SAMPLES);
  const smallBytes = await generateDataFile(small, SMALL_SAMPLES);
  await Deno.writeTextFile(join(work, "credentials.txt"), "bench benchpw\n");
  const tlsData = join(work, "tls-server");
  await Deno.mkdir(tlsData);
  await Deno.writeTextFile(join(tlsData, "credentials.txt"), "bench benchpw\n");
  const certs = join(work, "certs");
  await iotnetCert(certs);
  const tls: SocatTls = {
    cert: join(certs, "server.crt"),
    key: join(certs, "server.key"),
    ca: join(certs, "ca.crt"),
  };
  const loadBefore = Deno.loadavg();

  const server = await BenchServer.start(work);
  const tlsServer = await BenchServer.start(tlsData, "standard", [
    "--tls-cert",
    tls.cert,
    "--tls-key",
    tls.key,
  ]).catch(async (error) => {
    await server.stop();
    throw error;
  });

  try {
    const login = async (port: number, tlsCa?: string) => {
      const edge = await EdgeConnection.connect({
        hostname: "127.0.0.1",
        port,
        ...(tlsCa !== undefined && { tlsCa }),
      });
      await edge.request("login", { name: "bench", password: "benchpw" });
      await edge.request("udp_port", { port: 9 });
      return edge;
    };
    const connection = await login(server.port);
    const tlsConnection = await login(tlsServer.port, await Deno.readTextFile(tls.ca));
    const uploadOn = async (edge: EdgeConnection, path: string, fileID: number) => {
      using file = await Deno.open(path);
      const size = (await file.stat()).size;
      await edge.upload(fileID, file, size);
    };
    const upload = (path: string, fileID: number) => uploadOn(connection, path, fileID);
    // CPU of this process (the edge's side of an upload) and of the socat processes it
    // ran and reaped (both ends of a copy), user and system, from /proc.
    const selfCpu = () => {
      const { user, system } = statCpuSeconds(Deno.readTextFileSync("/proc/self/stat"));
      return user + system;
    };
    const reapedCpu = () => reapedChildrenCpuSeconds(Deno.readTextFileSync("/proc/self/stat"));
    const socatCpu: number[] = [];
    const tlsSocatCpu: number[] = [];
    const copy = async (cpu: number[], over?: SocatTls) => {
      const target = join(work, "socat-copy.txt");
      const before = reapedCpu();
      const result = await socatCopy(big, target, over);
      cpu.push((reapedCpu() - before) * 1e3);
      if (result.failure) throw new Error(result.failure);
      const copied = (await Deno.stat(target)).size;
      if (copied !== bytes) {
        throw new Error(`socat copied ${copied} of ${bytes} bytes; run it by hand to see why`);
      }
      return result.ms;
    };

    const idleRss = rssBytes(server.pid);
    // Warm-up on the small file, then measure both sizes.
    await upload(small, 2);
    let sampler = sampleRss(server.pid);
    await upload(small, 2);
    const smallPeak = sampler.stop();
    await uploadOn(tlsConnection, small, 2);
    const uedTimes: number[] = [];
    const socatTimes: number[] = [];
    const tlsUedTimes: number[] = [];
    const tlsSocatTimes: number[] = [];
    // CPU ms (user and system) the server process and the edge spend on each upload.
    const uedCpu: number[] = [];
    const tlsUedCpu: number[] = [];
    const edgeCpu: number[] = [];
    const tlsEdgeCpu: number[] = [];
    const withCpu = async (
      pid: number,
      cpu: { server: number[]; edge: number[] },
      fn: () => Promise<void>,
    ) => {
      const spent = () => {
        const { user, system } = statCpuSeconds(Deno.readTextFileSync(`/proc/${pid}/stat`));
        return user + system;
      };
      const before = spent();
      const edgeBefore = selfCpu();
      const ms = await timed(fn);
      cpu.server.push((spent() - before) * 1e3);
      cpu.edge.push((selfCpu() - edgeBefore) * 1e3);
      return ms;
    };
    for (let i = 0; i < ROUNDS; i++) {
      uedTimes.push(
        await withCpu(server.pid, { server: uedCpu, edge: edgeCpu }, () => upload(big, 1)),
      );
      socatTimes.push(await copy(socatCpu));
      tlsUedTimes.push(
        await withCpu(
          tlsServer.pid,
          { server: tlsUedCpu, edge: tlsEdgeCpu },
          () => uploadOn(tlsConnection, big, 1),
        ),
      );
      tlsSocatTimes.push(await copy(tlsSocatCpu, tls));
    }
    tlsConnection.close();
    const loadAfter = Deno.loadavg();
    // The big file's peak on one more upload, so the timed ones share no CPU with sampling.
    sampler = sampleRss(server.pid);
    await upload(big, 1);
    const bigPeak = sampler.stop();

    const scsTimes: number[] = [];
    const ops = ["SUM", "AVERAGE", "MAX", "MIN"] as const;
    for (let i = 0; i < SCS_ROUNDS; i++) {
      const operation = ops[i % 4]!;
      scsTimes.push(await timed(() => connection.request("compute", { fileID: 1, operation })));
    }
    const gawkMs = await timed(() =>
      sh(
        `gawk -M 'NR==1{mn=$1;mx=$1} {s+=$1; if($1<mn)mn=$1; if($1>mx)mx=$1} END{printf "%d %.6f %d %d\\n", s, s/NR, mx, mn}' ${big} > /dev/null`,
      )
    );
    connection.close();

    const ued = median(uedTimes);
    const raw = median(socatTimes);
    const tlsUed = median(tlsUedTimes);
    const tlsRaw = median(tlsSocatTimes);
    const tlsRatio = tlsUed / tlsRaw;
    const row = (what: string, times: number[], reference?: number) => {
      const ms = median(times);
      return [
        what,
        `${ms.toFixed(0)} ms`,
        `${Math.min(...times).toFixed(0)}–${Math.max(...times).toFixed(0)} ms`,
        (bytes / 1e3 / ms).toFixed(0),
        reference === undefined ? "1×" : `${(ms / reference).toFixed(2)}×`,
      ];
    };
    const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(", ");
    const tlsNote = [
      `UED over TLS against socat's TLS copy: ${tlsRatio.toFixed(2)}×`,
      `(target ≤ ${TLS_TARGET_RATIO}×: ${tlsRatio <= TLS_TARGET_RATIO ? "met" : "**not met**"});`,
      `per round ${tlsUedTimes.map((t, i) => (t / tlsSocatTimes[i]!).toFixed(2)).join(", ")}.`,
      `TLS costs UED ${(tlsUed / ued).toFixed(2)}× its plain time and socat`,
      `${(tlsRaw / raw).toFixed(2)}×; plain UED is ${(ued / raw).toFixed(2)}× socat's plain copy.`,
      "UED does work socat does not: it validates and aggregates every sample (and its plot",
      "summary), fsyncs, renames and journals the file and logs the upload. Load average",
      `(1, 5, 15 min) on ${navigator.hardwareConcurrency} cores: ${load(loadBefore)} before`,
      `the section, ${load(loadAfter)} after the upload rounds.`,
    ].join("\n");
    // Per round: the server's and the edge's CPU together, against socat's two ends.
    const total = (server: number[], edge: number[]) => server.map((ms, i) => ms + edge[i]!);
    const cpuRow = (what: string, server: number[], edge: number[], socat: number[]) => {
      const all = median(total(server, edge));
      return [
        what,
        `${median(server).toFixed(0)} ms`,
        `${median(edge).toFixed(0)} ms`,
        `${all.toFixed(0)} ms`,
        `${median(socat).toFixed(0)} ms`,
        `${(all / median(socat)).toFixed(2)}×`,
      ];
    };
    const cpuTable = table(
      ["copy", "UED: server", "UED: edge", "UED in all", "socat, both ends", "ratio"],
      [
        cpuRow("plain TCP", uedCpu, edgeCpu, socatCpu),
        cpuRow("TLS 1.3", tlsUedCpu, tlsEdgeCpu, tlsSocatCpu),
      ],
      ["left", "right", "right", "right", "right", "right"],
    );
    const cpuNote = [
      "CPU time per copy (user and system, medians of the rounds, from /proc: the server",
      "process's own, this process's for the edge, the reaped socat processes' for both ends",
      "of a copy). A loaded machine stretches wall times with its run queue, socat's more than",
      "UED's (it moves 8 KiB a read and a write, its default, each a wakeup of the other",
      "end, where UED moves 64 KiB frames and 256 KiB reads), while it moves CPU times",
      "less: they are the steadier comparison.",
    ].join("\n");
    const scsP50 = percentile(scsTimes, 50);
    const scsP99 = percentile(scsTimes, 99);
    return [
      `## UED and SCS (${SAMPLES.toLocaleString("en")} samples, ${mb(bytes)} MB)`,
      "",
      "UED: an in-process edge connection uploads the file to a real `iotnet server` process",
      "(validation, aggregation, write, fsync, rename, log line); socat copies the same file",
      "over loopback TCP into a file. Over TLS: a second server process with `--tls-cert` and",
      "`--tls-key` from `iotnet cert` (TLS 1.3, rustls), the edge connecting with `tlsCa`;",
      "socat's `OPENSSL-LISTEN` with the same certificate and key writes the file, its",
      "`OPENSSL:` client verifying against the same CA sends it. Each socat copy is timed from",
      "the sender's start to the receiver's exit. The four run in turn (UED, socat TCP, UED",
      `over TLS, socat TLS), ${ROUNDS} rounds; median and range of the ${ROUNDS} runs each.`,
      "",
      table(["what", "median wall time", "range", "MB/s", "ratio to its socat copy"], [
        row("iotnet UED, plain TCP", uedTimes, raw),
        row("socat TCP copy", socatTimes),
        row("iotnet UED over TLS 1.3", tlsUedTimes, tlsRaw),
        row("socat TLS copy (OPENSSL)", tlsSocatTimes),
      ], ["left", "right", "right", "right", "right"]),
      "",
      tlsNote,
      "",
      cpuTable,
      "",
      cpuNote,
      "",
      "Server RSS (resident memory of the server process):",
      "",
      table(["state", "RSS"], [
        ["idle, after login", `${mb(idleRss)} MB`],
        [`peak during UED of ${mb(smallBytes)} MB`, `${mb(smallPeak)} MB`],
        [`peak during UED of ${mb(bytes)} MB`, `${mb(bigPeak)} MB`],
      ]),
      "",
      `SCS: ${SCS_ROUNDS} requests over the same connection (answered from stored aggregates) beside`,
      "`gawk -M` computing SUM, AVERAGE, MAX and MIN exactly in one pass over the file.",
      "",
      table(["what", "time", "ratio"], [
        [
          "iotnet SCS p50",
          `${scsP50.toFixed(3)} ms`,
          `${(gawkMs / scsP50).toFixed(0)}× faster than gawk`,
        ],
        [
          "iotnet SCS p99",
          `${scsP99.toFixed(3)} ms`,
          `${(gawkMs / scsP99).toFixed(0)}× faster than gawk`,
        ],
        ["gawk -M, four figures", `${gawkMs.toFixed(0)} ms`, "1×"],
      ]),
    ].join("\n");
  } finally {
    await server.stop();
    await tlsServer.stop();
    await Deno.remove(work, { recursive: true });
  }
}

/** Makes a CA and a server certificate for 127.0.0.1 in `dir` with `iotnet cert`. */
async function iotnetCert(dir: string): Promise<void> {
  const { success, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${root}deno.json`, `${root}mod.ts`, "cert", dir],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(`iotnet cert ${dir} failed: ${new TextDecoder().decode(stderr).trim()}`);
  }
}
