/**
 * Key login (SPEC §7): a device signs its connection's challenge; a wrong key, an unknown
 * name and a wrong password get the same reply bytes and count alike toward a block.
 */

import assert from "node:assert/strict";
import { encodeMessage } from "../protocol/codec.ts";
import type { Message } from "../protocol/messages.ts";
import { generateDeviceKey, importDeviceKey } from "../tls/device_key.ts";
import { keyLoginMessage } from "../tls/key_login.ts";
import { createCa, issueServerCertificate } from "../tls/certificates.ts";
import { HELLO, RawClient } from "./_helpers/raw_client.ts";
import { TestServer } from "./_helpers/in_process_server.ts";
import { InProcessEdge } from "./_helpers/in_process_edge.ts";

const device = await generateDeviceKey();
const deviceKey = await importDeviceKey(device.privatePem);
const stranger = await importDeviceKey((await generateDeviceKey()).privatePem);
const ACCOUNTS = { watch1: "pw1", keyed: device.publicKey };

/** A raw connection that has said hello; its challenge from the reply. */
async function greeted(port: number): Promise<{ client: RawClient; challenge: Uint8Array }> {
  const client = await RawClient.connect(port);
  const hello = await client.request(HELLO) as Message & { challenge?: string };
  assert.equal(typeof hello.challenge, "string");
  const challenge = Uint8Array.from(atob(hello.challenge!), (c) => c.charCodeAt(0));
  assert.equal(challenge.length, 32);
  return { client, challenge };
}

function b64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** The reply's bytes as the server framed them, the request id set to 0. */
function replyBytes(reply: Message): Uint8Array {
  return encodeMessage({ ...reply, id: 0 } as Message);
}

async function keyLogin(
  port: number,
  name: string,
  key = deviceKey,
): Promise<{ reply: Message; client: RawClient }> {
  const { client, challenge } = await greeted(port);
  const signature = await key.sign(keyLoginMessage(challenge, name));
  const reply = await client.request({ op: "login", name, signature: b64(signature) });
  return { reply, client };
}

Deno.test("a device logs in with its key, and its name is then active", async () => {
  await using server = await TestServer.start({ accounts: ACCOUNTS });
  const { reply, client } = await keyLogin(server.port, "keyed");
  using _ = client;
  assert.equal((reply as { ok: boolean }).ok, true, JSON.stringify(reply));
  assert.equal(typeof (reply as { ticketKey?: string }).ticketKey, "string");
});

Deno.test("wrong key, unknown name, key for a password account and wrong password: same reply bytes", async () => {
  await using server = await TestServer.start({ accounts: ACCOUNTS, attempts: 5 });
  const replies: Message[] = [];
  for (
    const [name, key] of [["keyed", stranger], ["nobody", deviceKey], [
      "watch1",
      deviceKey,
    ]] as const
  ) {
    const { reply, client } = await keyLogin(server.port, name, key);
    client[Symbol.dispose]();
    replies.push(reply);
  }
  for (
    const [name, password] of [["watch1", "wrong"], ["keyed", "pw1"], ["keyed", device.publicKey]]
  ) {
    const { client } = await greeted(server.port);
    replies.push(await client.request({ op: "login", name, password }));
    client[Symbol.dispose]();
  }
  const first = replyBytes(replies[0]!);
  assert.match(new TextDecoder().decode(first), /"error":"bad_credentials"/);
  for (const reply of replies) assert.deepEqual(replyBytes(reply), first);
});

Deno.test("a signature made for one connection's challenge fails on another", async () => {
  await using server = await TestServer.start({ accounts: ACCOUNTS });
  const a = await greeted(server.port);
  const b = await greeted(server.port);
  using _a = a.client;
  using _b = b.client;
  const forA = await deviceKey.sign(keyLoginMessage(a.challenge, "keyed"));
  const replayed = await b.client.request({ op: "login", name: "keyed", signature: b64(forA) });
  assert.equal((replayed as { error?: string }).error, "bad_credentials");
  // Signed for another name: the name is part of what is signed.
  const other = await deviceKey.sign(keyLoginMessage(a.challenge, "watch1"));
  const renamed = await a.client.request({ op: "login", name: "keyed", signature: b64(other) });
  assert.equal((renamed as { error?: string }).error, "bad_credentials");
  const good = await deviceKey.sign(keyLoginMessage(a.challenge, "keyed"));
  const ok = await a.client.request({ op: "login", name: "keyed", signature: b64(good) });
  assert.equal((ok as { ok?: boolean }).ok, true, JSON.stringify(ok));
});

Deno.test("wrong keys and wrong passwords count together toward the block", async () => {
  await using server = await TestServer.start({ accounts: ACCOUNTS, attempts: 3 });
  const first = await keyLogin(server.port, "keyed", stranger);
  first.client[Symbol.dispose]();
  const { client } = await greeted(server.port);
  const second = await client.request({ op: "login", name: "keyed", password: "guess" });
  client[Symbol.dispose]();
  assert.equal((second as { error?: string }).error, "bad_credentials");
  const third = await keyLogin(server.port, "keyed", stranger);
  third.client[Symbol.dispose]();
  assert.equal((third.reply as { error?: string }).error, "blocked");
  // Blocked: even the right key is refused until the block ends.
  const right = await keyLogin(server.port, "keyed");
  right.client[Symbol.dispose]();
  assert.equal((right.reply as { error?: string }).error, "blocked");
});

Deno.test("a login with both or neither of password and signature is refused as bad arguments", async () => {
  await using server = await TestServer.start({ accounts: ACCOUNTS });
  const { client } = await greeted(server.port);
  using _ = client;
  const neither = await client.request({ op: "login", name: "keyed" });
  assert.equal((neither as { error?: string }).error, "bad_args");
  const both = await client.request({
    op: "login",
    name: "keyed",
    password: "x",
    signature: "AA==",
  });
  assert.equal((both as { error?: string }).error, "bad_args");
});

Deno.test("the edge with --key logs in over TLS without asking a password", async () => {
  const ca = await createCa();
  const tls = await issueServerCertificate(ca, ["127.0.0.1"]);
  await using server = await TestServer.start({ accounts: ACCOUNTS, tls });
  await using edge = await InProcessEdge.start(server, {
    tls: { caCerts: [ca.cert] },
    key: deviceKey,
  });
  edge.send("keyed");
  const login = await edge.next((j) => j.event === "login");
  assert.equal(login.ok, true, JSON.stringify(login));
  assert.equal(await edge.finish(), 0);
  await using refused = await InProcessEdge.start(server, {
    tls: { caCerts: [ca.cert] },
    key: stranger,
  });
  refused.send("keyed");
  const failed = await refused.next((j) => j.event === "login");
  assert.equal(failed.ok, false);
  assert.equal(failed.error, "bad_credentials");
  assert.equal(await refused.exited(), 1);
});
