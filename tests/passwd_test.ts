import assert from "node:assert/strict";
import { join } from "node:path";
import { EdgeProcess, type JsonLine } from "./_helpers/edge_process.ts";
import { runIotnet } from "./_helpers/iotnet_command.ts";
import { ACCOUNTS, ServerProcess } from "./_helpers/server_process.ts";

const NEW_PASSWORD = "n3w secret ✓";

/** A data directory holding the test accounts as plain-text lines. */
async function dataDirWithAccounts(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "iotnet-passwd-" });
  await Deno.writeTextFile(
    join(dir, "credentials.txt"),
    Object.entries(ACCOUNTS).map(([n, p]) => `${n} ${p}\n`).join(""),
  );
  return dir;
}

async function loginOutcome(server: ServerProcess, name: string, password: string) {
  await using edge = await EdgeProcess.start(server);
  await edge.send(name, password);
  const login: JsonLine = await edge.next((j) => j.event === "login");
  if (login.ok === true) await edge.finish();
  return login;
}

function hashOf(credentials: string, name: string): string {
  const line = credentials.split("\n").find((l) => l.startsWith(`${name} `));
  assert.ok(line, `no line for ${name}`);
  return line.slice(name.length + 1);
}

Deno.test("passwd writes a hash the real server accepts; the old and wrong passwords are refused", async () => {
  const dataDir = await dataDirWithAccounts();
  const before = await Deno.readTextFile(join(dataDir, "credentials.txt"));
  const set = await runIotnet(["passwd", "watch1", "--data-dir", dataDir], `${NEW_PASSWORD}\n`);
  assert.equal(set.code, 0, set.stderr);
  assert.match(
    set.stdout,
    /^password for watch1 changed in .*credentials\.txt \(scrypt N=16384,r=8,p=1\)\n$/,
  );
  const after = await Deno.readTextFile(join(dataDir, "credentials.txt"));
  const hash = hashOf(after, "watch1");
  assert.match(hash, /^scrypt\$N=16384,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert.ok(!set.stdout.includes(hash) && !set.stderr.includes(hash), "passwd printed the hash");
  // Every other line is kept as it was, in order.
  assert.deepEqual(
    after.split("\n").filter((l) => !l.startsWith("watch1 ")),
    before.split("\n").filter((l) => !l.startsWith("watch1 ")),
  );

  await using server = await ServerProcess.start({ dataDir, attempts: 5 });
  assert.equal((await loginOutcome(server, "watch1", NEW_PASSWORD)).ok, true);
  const old = await loginOutcome(server, "watch1", ACCOUNTS.watch1!);
  assert.deepEqual([old.ok, old.error], [false, "bad_credentials"]);
  const wrong = await loginOutcome(server, "watch1", `${NEW_PASSWORD}x`);
  assert.deepEqual([wrong.ok, wrong.error], [false, "bad_credentials"]);
  // A plain-text account in the same file still works.
  assert.equal((await loginOutcome(server, "watch2", ACCOUNTS.watch2!)).ok, true);

  await server.stop("SIGTERM");
  const log = [...server.stdout.lines, ...server.stderr.lines].join("\n");
  assert.ok(!log.includes(hash), "the hash reached the server's output");
  assert.ok(!log.includes(hash.split("$")[3]!), "the hash value reached the server's output");
  assert.ok(!log.includes(NEW_PASSWORD), "the password reached the server's output");
  assert.match(log, /failed login as watch1 from 127\.0\.0\.1 \(bad_credentials\)/);
  await Deno.remove(dataDir, { recursive: true });
});

Deno.test("passwd on a running server takes effect at the next login", async () => {
  const dataDir = await dataDirWithAccounts();
  await using server = await ServerProcess.start({ dataDir });
  assert.equal((await loginOutcome(server, "watch2", ACCOUNTS.watch2!)).ok, true);
  const set = await runIotnet(
    ["passwd", "watch2", "--credentials", join(dataDir, "credentials.txt")],
    "changed-pw\r\nignored second line\n",
  );
  assert.equal(set.code, 0, set.stderr);
  assert.equal((await loginOutcome(server, "watch2", "changed-pw")).ok, true);
  assert.equal((await loginOutcome(server, "watch2", ACCOUNTS.watch2!)).ok, false);
  // A new name is added and can log in at once.
  const added = await runIotnet(["passwd", "sensor-7", "--data-dir", dataDir], "pw7\n");
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /password for sensor-7 added/);
  assert.equal((await loginOutcome(server, "sensor-7", "pw7")).ok, true);
  await server.stop(); // it still writes its logs: stop it before removing its folder
  await Deno.remove(dataDir, { recursive: true });
});

Deno.test("passwd creates a missing credentials file readable by its owner only", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "accounts.txt");
  const { code, stderr } = await runIotnet(
    ["passwd", "watch1", "--credentials", path],
    "pw\n",
    { env: { IOTNET_HASH_PROFILE: "fast" } },
  );
  assert.equal(code, 0, stderr);
  assert.match(stderr, /warning: IOTNET_HASH_PROFILE selects a cheap hash, for load tests only/);
  const text = await Deno.readTextFile(path);
  assert.match(text, /^watch1 scrypt\$N=1024,r=8,p=1\$\S+\n$/);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["accounts.txt"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("passwd refuses bad names and options with exit 2 and bad input with exit 1", async () => {
  const dataDir = await dataDirWithAccounts();
  const path = join(dataDir, "credentials.txt");
  const before = await Deno.readTextFile(path);
  const usage: [string[], string, RegExp][] = [
    [["passwd"], "pw\n", /missing required argument 'name'/],
    [["passwd", "../etc/passwd", "--data-dir", dataDir], "pw\n", /may hold only letters/],
    [["passwd", "x".repeat(33), "--data-dir", dataDir], "pw\n", /longer than 32/],
    [
      ["passwd", "watch1", "--data-dir", join(dataDir, "nope")],
      "pw\n",
      /--data-dir .* cannot be used/,
    ],
    [["passwd", "watch1", "--bogus"], "pw\n", /unknown option '--bogus'/],
  ];
  for (const [args, stdin, pattern] of usage) {
    const { code, stderr } = await runIotnet(args, stdin);
    assert.equal(code, 2, args.join(" "));
    assert.match(stderr, pattern, args.join(" "));
  }
  const profile = await runIotnet(["passwd", "watch1", "--data-dir", dataDir], "pw\n", {
    env: { IOTNET_HASH_PROFILE: "turbo" },
  });
  assert.equal(profile.code, 2);
  assert.match(profile.stderr, /IOTNET_HASH_PROFILE: unknown password hash profile "turbo"/);

  const input: [string, RegExp][] = [
    ["", /no password on standard input/],
    ["\n", /the password is empty/],
    [`${"x".repeat(129)}\n`, /longer than 128 bytes/],
    ["tab\there\n", /control character/],
  ];
  for (const [stdin, pattern] of input) {
    const { code, stderr, stdout } = await runIotnet(
      ["passwd", "watch1", "--data-dir", dataDir],
      stdin,
    );
    assert.equal(code, 1, JSON.stringify(stdin));
    assert.match(stderr, pattern);
    assert.equal(stdout, "");
  }
  assert.equal(await Deno.readTextFile(path), before, "nothing was written");
  const help = await runIotnet(["passwd", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: iotnet passwd \[options\] <name>/);
  assert.match(help.stdout, /IOTNET_HASH_PROFILE=standard\|fast/);
  await Deno.remove(dataDir, { recursive: true });
});
