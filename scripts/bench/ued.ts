/**
 * UED and SCS benchmark: uploads a 10,000,000-sample file (about 104 MB) to a real
 * server process, beside a plain TCP copy of the same file with socat; samples the
 * server's RSS during uploads of two sizes to show it does not grow with the file; then
 * times SCS against gawk computing the same four figures over the file.
 *
 * @module
 */

import { join } from "node:path";
import { EdgeConnection } from "../../client/connection.ts";
import { generateDataFile } from "../../client/generate.ts";
import { ensureTools } from "../tools.ts";
import { BenchServer } from "./bench_server.ts";
import { mb, percentile, rssBytes, sampleRss, sh, table, timed } from "./helpers.ts";
import { socatCopy } from "./socat_copy.ts";

const SAMPLES = 10_000_000;
const SMALL_SAMPLES = 1_000_000;
const SCS_ROUNDS = 200;

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

  const server = await BenchServer.start(work);
  const port = server.port;

  try {
    const connection = await EdgeConnection.connect({ hostname: "127.0.0.1", port });
    await connection.request("login", { name: "bench", password: "benchpw" });
    await connection.request("udp_port", { port: 9 });
    const upload = async (path: string, fileID: number) => {
      using file = await Deno.open(path);
      const size = (await file.stat()).size;
      await connection.upload(fileID, file, size);
    };

    const idleRss = rssBytes(server.pid);
    // Warm-up on the small file, then measure both sizes.
    await upload(small, 2);
    let sampler = sampleRss(server.pid);
    await upload(small, 2);
    const smallPeak = sampler.stop();
    const uedTimes: number[] = [];
    let bigPeak = 0;
    for (let i = 0; i < 3; i++) {
      sampler = sampleRss(server.pid);
      uedTimes.push(await timed(() => upload(big, 1)));
      bigPeak = Math.max(bigPeak, sampler.stop());
    }

    const socatTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const copy = await socatCopy(big, join(work, "socat-copy.txt"));
      if (copy.failure) throw new Error(copy.failure);
      socatTimes.push(copy.ms);
    }

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

    const ued = percentile(uedTimes, 50);
    const raw = percentile(socatTimes, 50);
    const scsP50 = percentile(scsTimes, 50);
    const scsP99 = percentile(scsTimes, 99);
    return [
      `## UED and SCS (${SAMPLES.toLocaleString("en")} samples, ${mb(bytes)} MB)`,
      "",
      "UED: an in-process edge connection uploads the file to a real `iotnet server` process",
      "(validation, aggregation, write, fsync, rename, log line); socat copies the same file",
      "over loopback TCP into a file. Median of 3 runs each.",
      "",
      table(["what", "wall time", "MB/s", "ratio to socat"], [
        [
          "iotnet UED",
          `${ued.toFixed(0)} ms`,
          (bytes / 1e3 / ued).toFixed(0),
          `${(ued / raw).toFixed(2)}×`,
        ],
        ["socat TCP copy", `${raw.toFixed(0)} ms`, (bytes / 1e3 / raw).toFixed(0), "1×"],
      ]),
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
    await Deno.remove(work, { recursive: true });
  }
}
