import assert from "node:assert/strict";
import { join } from "node:path";
import { crashLoop, formatSummary } from "./_helpers/crash_loop.ts";
import { Disk } from "../server/disk.ts";
import { TextLog } from "../server/text_log.ts";
import { EdgeProcess, type JsonLine } from "./_helpers/edge_process.ts";
import { ServerProcess } from "./_helpers/server_process.ts";
import { listDir } from "./_helpers/wait.ts";

Deno.test("SIGKILL at random moments during uploads, deletes and offline delivery loses nothing acknowledged", async () => {
  // The same loop as scripts/crash_loop.ts, short enough for the suite.
  const summary = await crashLoop({ iterations: 22, seed: 20_260_115 });
  console.log(formatSummary(summary));
  assert.equal(summary.iterations, 22);
  assert.ok(summary.uploads.acked > 0 && summary.deletes.acked > 0 && summary.messages.acked > 0);
});

/** A small tmpfs on a fresh temp folder, or why there cannot be one here. */
async function mountTmpfs(size: string): Promise<
  { dir: string; [Symbol.asyncDispose](): Promise<void> } | string
> {
  const dir = await Deno.makeTempDir({ prefix: "iotnet-tmpfs-" });
  let problem: string | undefined;
  try {
    const out = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) problem = new TextDecoder().decode(out.stderr).trim() || `exit ${out.code}`;
  } catch (error) {
    problem = `cannot run mount: ${(error as Error).message}`;
  }
  if (problem !== undefined) {
    await Deno.remove(dir);
    return `cannot mount a ${size} tmpfs here (${problem}); it needs mount(8) and root with CAP_SYS_ADMIN`;
  }
  return {
    dir,
    async [Symbol.asyncDispose]() {
      await new Deno.Command("umount", { args: [dir], stdin: "null", stdout: "null" }).output();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function skipped(test: string, reason: string): void {
  console.log(`SKIPPED ${test}: ${reason}`);
}

Deno.test("disk full during UED: a clear error on both sides, no partial file, the server serves on", async () => {
  const mount = await mountTmpfs("1m");
  if (typeof mount === "string") return skipped("disk full during UED", mount);
  await using _ = mount;
  const dataDir = join(mount.dir, "data");
  await Deno.mkdir(dataDir);
  await using server = await ServerProcess.start({ dataDir });
  await using edge = await EdgeProcess.start(server, { login: "watch1" });
  // About 2.1 MB of samples into a 1 MiB file system.
  assert.equal((await edge.command("EDG 1 200000", 60_000)).ok, true);
  const full = await edge.command("UED 1", 60_000);
  assert.deepEqual([full.ok, full.error], [false, "io"], JSON.stringify(full));
  assert.match(
    String(full.message),
    /^the server could not store the file: the disk is full \(No space left on device/,
  );
  await server.waitForLog(/watch1: upload refused \(io\): .*the disk is full/);
  assert.deepEqual(await listDir(join(dataDir, "uploads")), [], "a partial file was left");
  assert.equal((await server.read("upload-log.txt").catch(() => "")).trim(), "");
  // The space came back and the server serves on, this device and others.
  assert.equal((await edge.command("EDG 2 1000")).ok, true);
  assert.equal((await edge.command("UED 2")).ok, true);
  assert.equal((await edge.command("SCS 2 MAX")).ok, true);
  await using other = await EdgeProcess.start(server, { login: "watch2" });
  assert.deepEqual(
    ((await other.command("AED")).devices as { name: string }[]).map((d) => d.name),
    ["watch1"],
  );
  assert.equal((await server.read("upload-log.txt")).split("\n").filter(Boolean).length, 1);
});

Deno.test("disk full at the UVF receiver: both sides say so, no partial file, both serve on", async () => {
  const mount = await mountTmpfs("512k");
  if (typeof mount === "string") return skipped("disk full at the UVF receiver", mount);
  await using _ = mount;
  await using server = await ServerProcess.start();
  await using a = await EdgeProcess.start(server, { login: "watch1" });
  await using b = await EdgeProcess.start(server, { login: "watch2", dir: mount.dir });
  {
    // 1 MiB into a 512 KiB file system.
    using file = await Deno.open(join(a.dir, "big.bin"), { write: true, create: true });
    for (let i = 0; i < 16; i++) await file.write(crypto.getRandomValues(new Uint8Array(65_536)));
  }
  const sent = await a.command("UVF watch2 big.bin", 60_000);
  assert.deepEqual([sent.ok, sent.error], [false, "io"], JSON.stringify(sent));
  assert.match(String(sent.message), /disk full/);
  const failed = await b.next((j: JsonLine) => j.event === "file", 30_000);
  assert.deepEqual([failed.ok, failed.error], [false, "disk_full"], JSON.stringify(failed));
  assert.match(String(failed.message), /^Receiving big\.bin from watch1 failed: disk full: /);
  assert.deepEqual(await listDir(mount.dir), [], "a partial file was left");
  // Both edges serve on: a file that fits arrives whole.
  await Deno.writeTextFile(join(a.dir, "small.txt"), "fits\n");
  assert.equal((await a.command("UVF watch2 small.txt", 30_000)).ok, true);
  const got = await b.next((j: JsonLine) => j.event === "file", 30_000);
  assert.equal(got.path, join(mount.dir, "watch1_small.txt"));
  assert.equal(await Deno.readTextFile(join(mount.dir, "watch1_small.txt")), "fits\n");
  assert.equal((await b.command("whoelse")).ok, true);
});

Deno.test("disk full during a log append: the line is cut back off, never left torn", async () => {
  const mount = await mountTmpfs("64k");
  if (typeof mount === "string") return skipped("disk full during a log append", mount);
  await using _ = mount;
  const log = join(mount.dir, "upload-log.txt");
  // The log ends 10 bytes short of a page: the next line needs a page the disk lacks.
  const line = "watch1; 15 January 2026 09:30:00; 1; 10\n";
  const lines = line.repeat(Math.floor(4086 / line.length));
  const before = lines + "x".repeat(4086 - lines.length - 1) + "\n";
  await Deno.writeTextFile(log, before);
  {
    using filler = await Deno.open(join(mount.dir, "filler"), { write: true, create: true });
    try {
      for (;;) await filler.write(new Uint8Array(4096));
    } catch {
      // full
    }
  }
  await assert.rejects(
    new TextLog(log, new Disk()).append("watch2; 15 January 2026 09:30:01; 2; 20"),
    (e) => e instanceof Error && /short write|No space left/.test(e.message),
  );
  assert.equal(await Deno.readTextFile(log), before);
});
