/**
 * Key login (SPEC §7): a device signs a fresh per-connection challenge with its Ed25519
 * key; a wrong key, an unknown name and a wrong password get the same reply, and key
 * logins are throttled and blocked exactly as password logins.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { EdgeConnection } from "../client/connection.ts";
import { loginWithKey } from "../client/key_login.ts";
import { RequestError } from "../protocol/errors.ts";
import { startServer } from "../server/mod.ts";
import {
  credentialsLine,
  generateDeviceKey,
  importDevicePrivateKey,
  signKeyLogin,
} from "../tls/device_key.ts";
import { EdgeProcess } from "./_helpers/edge_process.ts";
import { iotnetCommand } from "./_helpers/iotnet_command.ts";
import { ServerProcess } from "./_helpers/server_process.ts";

async function keyServer() {
  const dataDir = await Deno.makeTempDir({ prefix: "iotnet-key-" });
  const watch1 = await generateDeviceKey();
  const other = await generateDeviceKey();
  await Deno.writeTextFile(
    join(dataDir, "credentials.txt"),
    `${credentialsLine("watch1", watch1.publicKey)}\nwatch2 pw2\n`,
  );
  const server = await startServer({ attempts: 3, dataDir, log: () => {} });
  return {
    server,
    watch1: await importDevicePrivateKey(watch1.privatePem),
    watch1PublicLine: credentialsLine("watch1", watch1.publicKey),
    other: await importDevicePrivateKey(other.privatePem),
    async [Symbol.asyncDispose]() {
      await server.close();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

async function connect(port: number) {
  return await EdgeConnection.connect({ hostname: "127.0.0.1", port });
}

/** Runs one login on a new connection: "ok", or the error code and message the server sent. */
async function outcome(port: number, login: (c: EdgeConnection) => Promise<unknown>) {
  const connection = await connect(port);
  try {
    await login(connection);
    return "ok";
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    return `${error.code}: ${error.message}`;
  } finally {
    connection.close();
  }
}

function keyLogin(port: number, name: string, key: CryptoKey): Promise<string> {
  return outcome(port, (c) => loginWithKey(c, { key, name }));
}

function passwordLogin(port: number, name: string, password: string): Promise<string> {
  return outcome(port, (c) => c.request("login", { name, password }));
}

Deno.test("a device logs in by signing the server's challenge with its key", async () => {
  await using s = await keyServer();
  assert.equal(await keyLogin(s.server.port, "watch1", s.watch1), "ok");
});

Deno.test("a wrong key, an unknown name and a wrong password get the same reply", async () => {
  await using s = await keyServer();
  const wrongKey = await keyLogin(s.server.port, "watch1", s.other);
  const unknownByKey = await keyLogin(s.server.port, "nobody", s.other);
  const passwordAccountByKey = await keyLogin(s.server.port, "watch2", s.other);
  const wrongPassword = await passwordLogin(s.server.port, "watch2", "wrong");
  assert.match(wrongPassword, /^bad_credentials: /);
  assert.deepEqual(
    [wrongKey, unknownByKey, passwordAccountByKey],
    [wrongPassword, wrongPassword, wrongPassword],
  );
});

Deno.test("a key account cannot be opened with a password, not even its public key text", async () => {
  await using s = await keyServer();
  const publicText = s.watch1PublicLine.split(" ")[1]!;
  assert.match(await passwordLogin(s.server.port, "watch1", publicText), /^bad_credentials/);
  assert.equal(await keyLogin(s.server.port, "watch1", s.watch1), "ok");
});

Deno.test("wrong keys block the name like wrong passwords, then the right key is refused too", async () => {
  await using s = await keyServer();
  for (let i = 0; i < 2; i++) {
    assert.match(await keyLogin(s.server.port, "watch1", s.other), /^bad_credentials/);
  }
  assert.match(await keyLogin(s.server.port, "watch1", s.other), /^blocked: .*watch1 is blocked/);
  assert.match(await keyLogin(s.server.port, "watch1", s.watch1), /^blocked/);
});

Deno.test("a challenge is used once: a signature cannot be replayed, and key_login needs one", async () => {
  await using s = await keyServer();
  const connection = await connect(s.server.port);
  try {
    await assert.rejects(
      connection.request("key_login", { name: "watch1", signature: "AAAA" }),
      /key_login needs a key_challenge first/,
    );
    const { challenge } = await connection.request("key_challenge", {});
    const bytes = Uint8Array.from(atob(challenge), (c) => c.charCodeAt(0));
    const signature = await signKeyLogin(s.other, { challenge: bytes, name: "watch1" });
    await assert.rejects(connection.request("key_login", { name: "watch1", signature }), /Invalid/);
    const good = await signKeyLogin(s.watch1, { challenge: bytes, name: "watch1" });
    await assert.rejects(
      connection.request("key_login", { name: "watch1", signature: good }),
      /key_login needs a key_challenge first/,
    );
  } finally {
    connection.close();
  }
  // A signature for one connection's challenge does not open another connection.
  const first = await connect(s.server.port);
  const second = await connect(s.server.port);
  try {
    const { challenge } = await first.request("key_challenge", {});
    await second.request("key_challenge", {});
    const bytes = Uint8Array.from(atob(challenge), (c) => c.charCodeAt(0));
    const signature = await signKeyLogin(s.watch1, { challenge: bytes, name: "watch1" });
    await assert.rejects(second.request("key_login", { name: "watch1", signature }), /Invalid/);
  } finally {
    first.close();
    second.close();
  }
});

Deno.test("iotnet keygen's line in the credentials file lets iotnet edge --key log in, no password", async () => {
  const dir = await Deno.makeTempDir({ prefix: "iotnet-keygen-" });
  try {
    const keyFile = join(dir, "sensor7.key");
    const out = await iotnetCommand(["keygen", "sensor7", "--out", keyFile], {
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const line = new TextDecoder().decode(out.stdout).trim();
    assert.match(line, /^sensor7 ed25519\$[A-Za-z0-9+/]{43}=$/);
    assert.equal((await Deno.stat(keyFile)).mode! & 0o777, 0o600);
    await using server = await ServerProcess.start({ dataDir: dir });
    await Deno.writeTextFile(join(dir, "credentials.txt"), `${line}\n`, { append: true });
    await using edge = await EdgeProcess.start(server, { args: ["--key", keyFile] });
    await edge.send("sensor7");
    const login = await edge.next((j) => j.event === "login");
    assert.equal(login.ok, true, JSON.stringify(login));
    assert.equal((await edge.command("AED")).ok, true);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
