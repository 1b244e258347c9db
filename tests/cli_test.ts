import denoJson from "../deno.json" with { type: "json" };
import assert from "node:assert/strict";
import { refusingPort } from "./_helpers/bound_ports.ts";
import { runIotnet } from "./_helpers/iotnet_command.ts";

Deno.test("server refuses attempts outside 1..5 at once, naming the value and range", async () => {
  for (const bad of ["0", "6", "2.5", "abc", "-1"]) {
    const { code, stdout, stderr } = await runIotnet(["server", "0", bad]);
    assert.equal(code, 2, `attempts ${bad}`);
    assert.equal(stdout, "");
    assert.match(
      stderr,
      new RegExp(`<attempts> must be an integer 1\\.\\.5, not "?${bad.replace(".", "\\.")}"?`),
    );
  }
});

Deno.test("server refuses a bad port and bad option values", async () => {
  const port = await runIotnet(["server", "70000", "3"]);
  assert.equal(port.code, 2);
  assert.match(port.stderr, /<port> must be an integer 0\.\.65535, not 70000/);
  const block = await runIotnet(["server", "0", "3", "--block-seconds", "soon"]);
  assert.equal(block.code, 2);
  assert.match(block.stderr, /--block-seconds must be an integer/);
});

Deno.test("server without a credentials file exits 1 and says how to fix it", async () => {
  const dir = await Deno.makeTempDir();
  const { code, stderr } = await runIotnet(["server", "0", "3", "--data-dir", dir]);
  assert.equal(code, 1);
  assert.match(stderr, /credentials file .*credentials\.txt does not exist; create it/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("every subcommand has --help, and --version prints the version", async () => {
  for (const args of [["--help"], ["server", "--help"], ["edge", "--help"]]) {
    const { code, stdout } = await runIotnet(args);
    assert.equal(code, 0, args.join(" "));
    assert.match(stdout, /^Usage: iotnet/);
  }
  const version = await runIotnet(["--version"]);
  assert.equal(version.code, 0);
  assert.equal(version.stdout, `iotnet ${denoJson.version} (Deno ${Deno.version.deno})\n`);
});

Deno.test("edge with missing arguments or a bad port is a usage error", async () => {
  const missing = await runIotnet(["edge", "127.0.0.1"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /missing required argument/);
  const bad = await runIotnet(["edge", "127.0.0.1", "x", "0"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /<server_port> must be an integer 1\.\.65535, not "x"/);
});

Deno.test("edge that cannot reach the server says so and exits 1", async () => {
  await using refusing = await refusingPort();
  const { code, stdout } = await runIotnet(
    ["edge", "127.0.0.1", String(refusing.port), "0", "--json"],
    "a\nb\n",
  );
  assert.equal(code, 1);
  const event = JSON.parse(stdout.trim());
  assert.equal(event.event, "login");
  assert.equal(event.ok, false);
  assert.equal(event.error, "offline");
  assert.match(event.message, /cannot reach the server at 127\.0\.0\.1:\d+: connection refused/);
});

Deno.test("server on a port already in use exits 1 and says what to do", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/credentials.txt`, "a pw\n");
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { code, stdout, stderr } = await runIotnet([
    "server",
    String(listener.addr.port),
    "3",
    "--data-dir",
    dir,
  ]);
  assert.equal(code, 1);
  assert.equal(stdout, "");
  assert.match(
    stderr,
    /cannot listen on 127\.0\.0\.1:\d+: the port is in use; stop what uses it or pick another port/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("server refuses --node-id without --cluster and a malformed node id", async () => {
  const alone = await runIotnet(["server", "0", "3", "--node-id", "n1"]);
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /--node-id needs --cluster \(or IOTNET_CLUSTER_URL\)/);
  const bad = await runIotnet([
    "server",
    "0",
    "3",
    "--cluster",
    "postgres://127.0.0.1:1/x",
    "--node-id",
    "a/b",
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--node-id: node id "a\/b" must be 1\.\.64 letters/);
});

Deno.test("server takes the cluster URL from IOTNET_CLUSTER_URL and never prints its password", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "iotnet-cli-cluster-" });
  try {
    await Deno.writeTextFile(`${dataDir}/credentials.txt`, "watch1 pw1\n");
    // Port 1 of 127.0.0.1: nothing listens, so start-up stops at the database.
    const { code, stdout, stderr } = await runIotnet(
      ["server", "0", "3", "--data-dir", dataDir, "--node-id", "n1"],
      "",
      { env: { IOTNET_CLUSTER_URL: "postgres://iot:secret@127.0.0.1:1/net" } },
    );
    assert.equal(code, 1);
    assert.equal(stdout, "");
    assert.match(stderr, /cannot use PostgreSQL database 127\.0\.0\.1:1\/net: .*--cluster/);
    assert.doesNotMatch(stderr, /secret/);
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
