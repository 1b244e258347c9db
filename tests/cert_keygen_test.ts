/** `iotnet cert` and `iotnet keygen` (SPEC §7), run as the real program. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { importDeviceKey, verifyDeviceSignature } from "../tls/device_key.ts";
import { runIotnet } from "./_helpers/iotnet_command.ts";
import { TestServer } from "./_helpers/in_process_server.ts";

async function openssl(...args: string[]): Promise<string> {
  const out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  return text;
}

async function mode(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}

Deno.test("iotnet cert makes a CA and a server certificate a TLS server and edge accept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const made = await runIotnet(["cert", join(dir, "tls")]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /made a new CA/);
    const p = (f: string) => join(dir, "tls", f);
    assert.equal(await mode(p("ca.key")), 0o600);
    assert.equal(await mode(p("server.key")), 0o600);
    assert.match(await openssl("verify", "-CAfile", p("ca.crt"), p("server.crt")), /: OK/);
    const text = await openssl("x509", "-in", p("server.crt"), "-noout", "-text");
    assert.match(text, /IP Address:127\.0\.0\.1/);
    assert.match(text, /DNS:localhost/);
    assert.match(text, /CA:FALSE/);
    assert.match(await openssl("x509", "-in", p("ca.crt"), "-noout", "-text"), /CA:TRUE/);

    await using server = await TestServer.start({
      tls: {
        cert: await Deno.readTextFile(p("server.crt")),
        key: await Deno.readTextFile(p("server.key")),
      },
    });
    const ca = await Deno.readTextFile(p("ca.crt"));
    await server.login("watch1", undefined, { caCerts: [ca] });

    // Again with the CA present: the same CA, a new server certificate for the new hosts.
    const oldCert = await Deno.readTextFile(p("server.crt"));
    const again = await runIotnet(["cert", p(""), "--host", "10.1.2.3", "--host", "iot.example"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /kept the CA/);
    assert.equal(await Deno.readTextFile(p("ca.crt")), ca);
    assert.notEqual(await Deno.readTextFile(p("server.crt")), oldCert);
    const renewed = await openssl("x509", "-in", p("server.crt"), "-noout", "-text");
    assert.match(renewed, /IP Address:10\.1\.2\.3, DNS:iot\.example/);
    assert.match(await openssl("verify", "-CAfile", p("ca.crt"), p("server.crt")), /: OK/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("iotnet cert refuses a bad --host and a CA half present, in one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bad = await runIotnet(["cert", dir, "--host", "not a host"]);
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /^iotnet: --host: "not a host" is neither an IP address nor a host name\n$/,
    );
    await Deno.writeTextFile(join(dir, "ca.crt"), "x");
    const half = await runIotnet(["cert", dir]);
    assert.equal(half.code, 2);
    assert.match(half.stderr, /ca\.crt is there without .*ca\.key; restore it, or remove both/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("iotnet keygen writes a 0600 key and prints the credentials line that verifies it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const made = await runIotnet(["keygen", "watch1"], "", { cwd: dir });
    assert.equal(made.code, 0, made.stderr);
    const match = /^watch1 (ed25519\$[A-Za-z0-9+/]{43}=)\n$/.exec(made.stdout);
    assert.ok(match, made.stdout);
    const path = join(dir, "watch1.key");
    assert.equal(await mode(path), 0o600);
    const key = await importDeviceKey(await Deno.readTextFile(path));
    const data = new TextEncoder().encode("x");
    assert.equal(await verifyDeviceSignature(match[1]!, data, await key.sign(data)), true);

    const again = await runIotnet(["keygen", "watch1"], "", { cwd: dir });
    assert.equal(again.code, 2);
    assert.match(
      again.stderr,
      /cannot write watch1\.key: it exists; remove it first or give --out/,
    );
    const out = await runIotnet(["keygen", "watch1", "--out", join(dir, "other.key")]);
    assert.equal(out.code, 0, out.stderr);
    assert.notEqual(out.stdout, made.stdout);
    const badName = await runIotnet(["keygen", "../x"], "", { cwd: dir });
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /^iotnet: <name>: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
