/**
 * The TLS and key flags of the real program (SPEC §7): `iotnet cert`, `iotnet keygen`, then a
 * server with `--tls-cert`/`--tls-key` and an edge with `--tls-ca` and `--key`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runIotnet } from "./_helpers/iotnet_command.ts";
import { ACCOUNTS, ServerProcess } from "./_helpers/server_process.ts";
import { EdgeProcess } from "./_helpers/edge_process.ts";

Deno.test("a deployment from cert and keygen: TLS server, key edge, password edge", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal((await runIotnet(["cert", join(dir, "tls")])).code, 0);
    const keygen = await runIotnet(["keygen", "sensor7", "--out", join(dir, "sensor7.key")]);
    assert.equal(keygen.code, 0, keygen.stderr);
    const dataDir = join(dir, "data");
    await Deno.mkdir(dataDir);
    await Deno.writeTextFile(
      join(dataDir, "credentials.txt"),
      Object.entries(ACCOUNTS).map(([n, p]) => `${n} ${p}\n`).join("") + keygen.stdout,
    );
    const tls = (f: string) => join(dir, "tls", f);
    await using server = await ServerProcess.start({
      dataDir,
      args: ["--tls-cert", tls("server.crt"), "--tls-key", tls("server.key")],
    });
    await server.stdout.waitFor((l) => l.includes("devices connect with TLS"), 10_000);

    await using keyed = await EdgeProcess.start(server, {
      args: ["--tls-ca", tls("ca.crt"), "--key", join(dir, "sensor7.key")],
    });
    await keyed.send("sensor7");
    const login = await keyed.next((j) => j.event === "login");
    assert.equal(login.ok, true, JSON.stringify(login));

    await using password = await EdgeProcess.start(server, {
      login: "watch1",
      args: ["--tls-ca", tls("ca.crt")],
    });
    await password.send("whoelse");
    const whoelse = await password.next((j) => j.cmd === "WHOELSE");
    assert.deepEqual(whoelse.devices, ["sensor7"]);

    await using plain = await EdgeProcess.start(server, {});
    const refused = await plain.next((j) => j.event === "login");
    assert.equal(refused.ok, false);
    assert.match(String(refused.message), /server expects TLS; give --tls-ca/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server and edge TLS flags refuse what cannot work, in one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const half = await runIotnet(["server", "0", "3", "--data-dir", dir, "--tls-cert", "x.crt"]);
    assert.equal(half.code, 2);
    assert.match(half.stderr, /^iotnet: --tls-cert and --tls-key go together/);
    await Deno.writeTextFile(join(dir, "credentials.txt"), "watch1 pw1\n");
    const open = await runIotnet(["server", "0", "3", "--data-dir", dir, "--host", "0.0.0.0"]);
    assert.equal(open.code, 1);
    assert.match(open.stderr, /^iotnet: --host 0\.0\.0\.0 is not a loopback address .*--insecure/m);
    await Deno.writeTextFile(join(dir, "not-a-key"), "hello\n");
    const key = await runIotnet(["edge", "127.0.0.1", "1", "0", "--key", join(dir, "not-a-key")]);
    assert.equal(key.code, 2);
    assert.match(
      key.stderr,
      /^iotnet: --key .* holds no PEM private key; give the file `iotnet keygen` wrote\n$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
