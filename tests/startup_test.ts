import assert from "node:assert/strict";
import { join } from "node:path";
import { iotnetCommand } from "./_helpers/iotnet_command.ts";
import { HELLO, RawClient } from "./_helpers/raw_client.ts";
import { ServerProcess } from "./_helpers/server_process.ts";

/** Asserts a start-up failure: exit 1, nothing on stdout, one line on stderr. */
function assertOneLineFailure(
  result: { code: number; stdout: string; stderr: string },
  message: RegExp,
): void {
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stdout, "");
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, message);
}

/** Runs `iotnet <args>`, which must exit by itself within 20 s (a server that starts does not). */
async function runToExit(
  args: string[],
  hashProfile = "fast",
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = iotnetCommand(args, { env: { IOTNET_HASH_PROFILE: hashProfile } }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  try {
    const out = await child.output();
    assert.notEqual(out.signal, "SIGKILL", "it did not exit by itself: it started");
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("a second server on a data directory in use refuses with the holder's pid; after a SIGKILL the directory can be used again", async () => {
  await using first = await ServerProcess.start();
  const second = await runToExit(["server", "0", "3", "--data-dir", first.dataDir]);
  assertOneLineFailure(
    second,
    new RegExp(
      `^iotnet: data directory .* is in use by another iotnet server \\(pid ${first.pid}\\); ` +
        "stop it, or give this server another --data-dir$",
    ),
  );
  // The first still serves, with nothing of its directory touched.
  using device = await RawClient.connect(first.port, "watch1");
  const res = await device.request({ op: "devices" });
  assert.ok(res.t === "res" && res.ok);
  device[Symbol.dispose]();
  // Killed, it leaves its lock file behind; the lock itself goes with the process.
  await first.stop("SIGKILL");
  await using third = await ServerProcess.start({ dataDir: first.dataDir });
  using again = await RawClient.connect(third.port, "watch1");
  const served = await again.request({ op: "devices" });
  assert.ok(served.t === "res" && served.ok);
  await Deno.remove(first.dataDir, { recursive: true });
});

Deno.test("start-up problems are one line and exit 1: a --host that is no address, a --data-dir that is a file or holds a file where uploads/ goes, a --credentials that is a directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "credentials.txt"), "watch1 pw1\n");
    assertOneLineFailure(
      await runToExit(["server", "0", "3", "--data-dir", dir, "--host", "999.1.1.1"]),
      /^iotnet: cannot listen on 999\.1\.1\.1:0: .*; check --host and the port$/,
    );
    const file = join(dir, "credentials.txt");
    assertOneLineFailure(
      await runToExit(["server", "0", "3", "--data-dir", file]),
      /^iotnet: data directory .*credentials\.txt is not a directory$/,
    );
    const broken = join(dir, "broken");
    await Deno.mkdir(broken);
    await Deno.writeTextFile(join(broken, "uploads"), "a file where uploads/ should be");
    assertOneLineFailure(
      await runToExit(["server", "0", "3", "--data-dir", broken, "--credentials", file]),
      /^iotnet: cannot use data directory .*broken: File exists .*uploads'$/,
    );
    assertOneLineFailure(
      await runToExit(["server", "0", "3", "--data-dir", dir, "--credentials", dir]),
      /^iotnet: cannot read the credentials file .*: .*; /,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an unknown IOTNET_HASH_PROFILE stops the server at start: one line naming the variable, exit 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "credentials.txt"), "watch1 pw1\n");
    assertOneLineFailure(
      await runToExit(["server", "0", "3", "--data-dir", dir], "turbo"),
      /^iotnet: IOTNET_HASH_PROFILE: unknown password hash profile "turbo"; use one of standard, fast$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--allow-registration with no credentials file creates it (mode 0600) and a device can register", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    const credentials = join(dataDir, "accounts.txt");
    await using server = await ServerProcess.start({
      dataDir,
      // ServerProcess writes <dataDir>/credentials.txt; this server is pointed elsewhere.
      args: ["--allow-registration", "--credentials", credentials],
    });
    assert.equal((await Deno.stat(credentials)).mode! & 0o777, 0o600);
    using raw = await RawClient.connect(server.port);
    await raw.request(HELLO);
    const login = await raw.request({ op: "login", name: "newcomer", password: "secret1" });
    assert.ok(login.t === "res" && login.ok && login.registered === true, JSON.stringify(login));
    assert.match(await Deno.readTextFile(credentials), /^newcomer scrypt\$/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
