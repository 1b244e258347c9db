import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { MIGRATIONS } from "../server/store/migrations.ts";
import { EdgeProcess, type JsonLine } from "./_helpers/edge_process.ts";
import { runIotnet } from "./_helpers/iotnet_command.ts";
import { RawClient } from "./_helpers/raw_client.ts";
import { ACCOUNTS, ServerProcess } from "./_helpers/server_process.ts";
import { PROTOCOL_NAME, PROTOCOL_VERSION } from "../protocol/limits.ts";

/** A data directory with the test accounts and `db` as its database. */
async function dataDirWith(db: (path: string) => void | Promise<void>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "iotnet-store-cli-" });
  await Deno.writeTextFile(
    join(dir, "credentials.txt"),
    Object.entries(ACCOUNTS).map(([n, p]) => `${n} ${p}\n`).join(""),
  );
  await db(join(dir, "iotnet.db"));
  return dir;
}

/** Runs `iotnet server` on `dir`, expecting it to refuse to start (20 s at most). */
async function refusedStart(dir: string) {
  const result = await runIotnet(["server", "0", "3", "--data-dir", dir], "", {
    signal: AbortSignal.timeout(20_000),
    env: { IOTNET_HASH_PROFILE: "fast" },
  });
  assert.notEqual(result.code, 0, "the server started");
  assert.doesNotMatch(result.stdout, /listening on/);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `not one line:\n${result.stderr}`);
  return lines[0]!;
}

Deno.test("the server exits non-zero with one line for a database that is not a database", async () => {
  const junk = crypto.getRandomValues(new Uint8Array(16 * 1024));
  const dir = await dataDirWith((path) => Deno.writeFile(path, junk));
  try {
    const line = await refusedStart(dir);
    assert.match(
      line,
      /^iotnet: cannot open database .*iotnet\.db: file is not a database; move the file away/,
    );
    assert.deepEqual(await Deno.readFile(join(dir, "iotnet.db")), junk, "the file was touched");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the server exits non-zero with one line for a database from a newer iotnet", async () => {
  const newer = MIGRATIONS.length + 1;
  const dir = await dataDirWith((path) => {
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA user_version = ${newer}`);
    db.close();
  });
  try {
    const line = await refusedStart(dir);
    assert.equal(
      line,
      `iotnet: database ${join(dir, "iotnet.db")} has schema version ${newer}, newer than ` +
        `this iotnet's ${MIGRATIONS.length}; run a newer iotnet or move the file away`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A fresh connection's login reply for `name`. */
async function loginReply(port: number, name: string, password: string) {
  using raw = await RawClient.connect(port);
  await raw.request({ op: "hello", protocol: PROTOCOL_NAME, version: PROTOCOL_VERSION });
  return await raw.request({ op: "login", name, password });
}

function isEvent(event: string) {
  return (j: JsonLine) => j.event === event;
}

Deno.test("a restart keeps uploads, aggregates, offline messages, blocks, history and a running block", async () => {
  const first = await ServerProcess.start({ args: ["--block-seconds", "30"] });
  const dataDir = first.dataDir;
  let sum: unknown;
  let max: unknown;
  {
    await using a = await EdgeProcess.start(first, { login: "watch1" });
    assert.equal((await a.command("EDG 1 500")).ok, true);
    assert.equal((await a.command("UED 1")).ok, true);
    assert.equal((await a.command("EDG 2 20")).ok, true);
    assert.equal((await a.command("UED 2")).ok, true);
    assert.equal((await a.command("DTE 2")).ok, true);
    sum = (await a.command("SCS 1 SUM")).result;
    max = (await a.command("SCS 1 MAX")).result;
    assert.equal((await a.command("block watch3")).ok, true);
    assert.equal((await a.command("message watch2 kept across the restart")).delivery, "stored");
    assert.equal((await a.finish()).code, 0);
  }
  // Three wrong passwords block dev5 for 30 s.
  for (let i = 0; i < 3; i++) await loginReply(first.port, "dev5", "wrong");
  const blocked = await loginReply(first.port, "dev5", ACCOUNTS.dev5!);
  assert.ok(blocked.t === "res" && !blocked.ok && blocked.error === "blocked");
  const uploadLog = await first.read("upload-log.txt");
  const deletionLog = await first.read("deletion-log.txt");
  assert.equal((await first.stop("SIGTERM")).code, 0);

  await using server = await ServerProcess.start({ dataDir, args: ["--block-seconds", "30"] });
  // A clean shutdown leaves nothing to repair.
  assert.deepEqual(server.log.filter((l) => l.startsWith("recovery:")), []);
  assert.ok(
    server.log.includes("start-up check: the data directory is consistent, nothing to repair"),
    server.log.join("\n"),
  );
  // The block is still running: the right password is refused.
  const still = await loginReply(server.port, "dev5", ACCOUNTS.dev5!);
  assert.ok(still.t === "res" && !still.ok && still.error === "blocked", JSON.stringify(still));
  {
    await using b = await EdgeProcess.start(server, { login: "watch2" });
    const m = await b.next(isEvent("message"));
    assert.deepEqual([m.from, m.text, m.kind], ["watch1", "kept across the restart", "offline"]);
    // Login history: watch1 was online before the restart, and is not now.
    assert.deepEqual((await b.command("whoelsesince 600")).devices, ["watch1"]);
    assert.deepEqual((await b.command("whoelse")).devices, []);
    assert.equal((await b.finish()).code, 0);
  }
  {
    await using a = await EdgeProcess.start(server, { login: "watch1" });
    assert.equal((await a.command("SCS 1 SUM")).result, sum);
    assert.equal((await a.command("SCS 1 MAX")).result, max);
    assert.equal((await a.command("SCS 2 SUM")).error, "not_found");
    await using c = await EdgeProcess.start(server, { login: "watch3" });
    const refused = await c.command("message watch1 let me in");
    assert.deepEqual([refused.ok, refused.error], [false, "blocked"]);
  }
  assert.equal(await server.read("upload-log.txt"), uploadLog);
  assert.equal(await server.read("deletion-log.txt"), deletionLog);
  assert.equal(uploadLog.split("\n").filter(Boolean).length, 2);
  assert.equal(deletionLog.split("\n").filter(Boolean).length, 1);
  await server.stop("SIGTERM");
  await Deno.remove(dataDir, { recursive: true });
});
