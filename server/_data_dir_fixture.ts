/**
 * A prepared data directory with its store, commits and recovery, for the tests of
 * `file_commits.ts` and `recovery.ts`; and files in it as UED leaves them.
 *
 * @module
 */

import { PlotSummary } from "../protocol/plot_summary.ts";
import { SampleAggregator } from "../protocol/samples.ts";
import { DataDir } from "./data_dir.ts";
import { Disk } from "./disk.ts";
import { FileCommits } from "./file_commits.ts";
import { recoverDataDir } from "./recovery.ts";
import type { StoredFile } from "./store/interfaces.ts";
import { openSqliteStore } from "./store/sqlite_store.ts";
import { formatTimestamp } from "./timestamp.ts";

/** A prepared data directory with its store, removed on dispose. */
export async function dataDirFixture() {
  const root = await Deno.makeTempDir({ prefix: "iotnet-recovery-" });
  const dataDir = new DataDir(root);
  const disk = new Disk();
  await dataDir.prepare(disk);
  const store = openSqliteStore(dataDir.database);
  const files = store.files;
  const logged: string[] = [];
  const commits = new FileCommits({ dataDir, files, disk, log: (line) => logged.push(line) });
  return {
    dataDir,
    files,
    commits,
    logged,
    recover: () => recoverDataDir({ dataDir, files, commits, disk }),
    uploads: async () => {
      const names: string[] = [];
      for await (const e of Deno.readDir(dataDir.uploads)) names.push(e.name);
      return names.sort();
    },
    lines: async (path: string) => {
      try {
        return (await Deno.readTextFile(path)).split("\n").filter(Boolean);
      } catch {
        return [];
      }
    },
    async [Symbol.asyncDispose]() {
      await store.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}

/** What {@linkcode dataDirFixture} gives. */
export type Fixture = Awaited<ReturnType<typeof dataDirFixture>>;

/** A time in the tests' logs. */
export const T0 = new Date(2026, 0, 15, 9, 30, 0).getTime();

/** A data file of `values` and its aggregates. */
export function content(values: number[]) {
  const text = values.map((v) => `${v}\n`).join("");
  const plot = new PlotSummary();
  const aggregator = new SampleAggregator(plot);
  aggregator.push(new TextEncoder().encode(text));
  const aggregates = aggregator.finish();
  return { text, bytes: new TextEncoder().encode(text).length, ...aggregates, plot: plot.finish() };
}

/** An `upload-log.txt` (or `deletion-log.txt`) line. */
export function uploadLine(device: string, at: number, fileID: number, count: number): string {
  return `${device}; ${formatTimestamp(at)}; ${fileID}; ${count}`;
}

/** An upload as a finished UED leaves it: file, record and log line. */
export async function committed(
  f: Fixture,
  device: string,
  fileID: number,
  values: number[],
  at = T0,
): Promise<StoredFile> {
  const c = content(values);
  await Deno.writeTextFile(f.dataDir.uploadPath(device, fileID), c.text);
  const record: StoredFile = {
    device,
    fileID,
    count: c.count,
    sum: c.sum,
    min: c.min,
    max: c.max,
    bytes: c.bytes,
    uploadedAt: at,
  };
  await f.files.put(record);
  await f.commits.uploadLog.append(uploadLine(device, at, fileID, c.count));
  return record;
}

/** A finished temporary upload file, as UploadSink leaves it before the commit. */
export async function tempUpload(f: Fixture, device: string, fileID: number, values: number[]) {
  const c = content(values);
  const temp = f.dataDir.tempPathFor(f.dataDir.uploadPath(device, fileID));
  await Deno.writeTextFile(temp, c.text);
  return {
    device,
    fileID,
    temp,
    ino: (await Deno.stat(temp)).ino,
    bytes: c.bytes,
    count: c.count,
    sum: c.sum,
    min: c.min,
    max: c.max,
    plot: c.plot,
  };
}
