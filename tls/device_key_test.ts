import assert from "node:assert/strict";
import {
  generateDeviceKey,
  importDeviceKey,
  publicKeyProblem,
  verifyDeviceSignature,
} from "./device_key.ts";

const data = new TextEncoder().encode("challenge");

Deno.test("a generated key signs what its public key verifies, and nothing else", async () => {
  const pair = await generateDeviceKey();
  assert.match(pair.publicKey, /^ed25519\$[A-Za-z0-9+/]{43}=$/);
  assert.equal(publicKeyProblem(pair.publicKey), undefined);
  const key = await importDeviceKey(pair.privatePem);
  const signature = await key.sign(data);
  assert.equal(await verifyDeviceSignature(pair.publicKey, data, signature), true);
  assert.equal(await verifyDeviceSignature(pair.publicKey, new Uint8Array(9), signature), false);
  const other = await generateDeviceKey();
  assert.equal(await verifyDeviceSignature(other.publicKey, data, signature), false);
  signature[0]! ^= 1;
  assert.equal(await verifyDeviceSignature(pair.publicKey, data, signature), false);
});

Deno.test("malformed public keys and signatures are refused, not thrown", async () => {
  for (const bad of ["ed25519$", "ed25519$abc", "ed25519$" + "A".repeat(44), "scrypt$x"]) {
    assert.notEqual(publicKeyProblem(bad), undefined, bad);
    assert.equal(await verifyDeviceSignature(bad, data, new Uint8Array(64)), false);
  }
  const { publicKey } = await generateDeviceKey();
  assert.equal(await verifyDeviceSignature(publicKey, data, new Uint8Array(10)), false);
});

Deno.test("importDeviceKey says what is wrong with a file that is no Ed25519 key", async () => {
  await assert.rejects(importDeviceKey("hello"), /no PEM private key/);
  const ecdsa = await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: "P-256" },
    true,
    ["sign"],
  ) as CryptoKeyPair;
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", ecdsa.privateKey));
  const text = `-----BEGIN PRIVATE KEY-----\n${
    btoa(String.fromCharCode(...der))
  }\n-----END PRIVATE KEY-----\n`;
  await assert.rejects(importDeviceKey(text), /not an Ed25519 private key/);
});
