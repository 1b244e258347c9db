import assert from "node:assert/strict";
import { openAead } from "./aead.ts";
import { decodePacket, encodePacket, SEAL_OVERHEAD_BYTES, wireLength } from "./packet.ts";
import { deriveDirectionKey, PacketOpener, PacketSealer } from "./packet_protection.ts";

const secret = Uint8Array.from({ length: 32 }, (_, i) => i);
const id = Uint8Array.from({ length: 16 }, (_, i) => 200 - i);
const MARKER = "PLAINTEXT-MARKER-0123456789";

function ends(purpose: "iotnet-uvf-v4" | "iotnet-chat-v4" = "iotnet-uvf-v4") {
  const aead = openAead();
  const ab = deriveDirectionKey(secret, id, purpose, { from: "alice", to: "bob" });
  const ba = deriveDirectionKey(secret, id, purpose, { from: "bob", to: "alice" });
  return {
    aead,
    aliceSends: new PacketSealer(aead, ab),
    bobOpens: new PacketOpener(aead, ab, 64),
    aliceOpens: new PacketOpener(aead, ba, 64),
  };
}

function data(seq: number, text = MARKER): Uint8Array {
  return encodePacket({ type: "data", id, seq, payload: new TextEncoder().encode(text) });
}

Deno.test("packet protection: one key per direction, per purpose, per secret and id", () => {
  const k = (s: Uint8Array, i: Uint8Array, p: "iotnet-uvf-v4" | "iotnet-chat-v4", to = "bob") =>
    deriveDirectionKey(s, i, p, { from: "alice", to }).key.join();
  const base = k(secret, id, "iotnet-uvf-v4");
  assert.notEqual(
    deriveDirectionKey(secret, id, "iotnet-uvf-v4", { from: "bob", to: "alice" }).key.join(),
    base,
  );
  assert.notEqual(k(secret, id, "iotnet-chat-v4"), base);
  assert.notEqual(k(secret.map((b) => b ^ 1), id, "iotnet-uvf-v4"), base);
  assert.notEqual(k(secret, new Uint8Array(16), "iotnet-uvf-v4"), base);
  assert.notEqual(k(secret, id, "iotnet-uvf-v4", "bob2"), base);
  assert.throws(
    () => deriveDirectionKey(new Uint8Array(16), id, "iotnet-uvf-v4", { from: "a", to: "b" }),
    RangeError,
  );
});

Deno.test("packet protection: sealed datagrams open once, in their direction, and hide the body", () => {
  const e = ends();
  try {
    const packet = data(7);
    const sealed = e.aliceSends.seal(packet);
    assert.equal(sealed.length, packet.length + SEAL_OVERHEAD_BYTES);
    assert.equal(wireLength(sealed), sealed.length);
    assert.equal(new TextDecoder("latin1").decode(sealed).includes(MARKER), false);
    assert.equal(e.aliceOpens.open(sealed.slice()), undefined, "reflected back to its sender");
    const opened = e.bobOpens.open(sealed.slice());
    assert.ok(opened);
    assert.deepEqual(opened, packet);
    const p = decodePacket(opened);
    assert.ok(p.type === "data" && p.seq === 7);
    assert.equal(e.bobOpens.open(sealed.slice()), undefined, "replayed");
    assert.equal(e.bobOpens.open(sealed.slice(), true)?.length, packet.length, "repeat on request");
    assert.equal(e.bobOpens.lastSeen, true);
  } finally {
    e.aead.close();
  }
});

Deno.test("packet protection: every edited byte, a cut or a foreign key is dropped", () => {
  const e = ends();
  const foreign = new PacketSealer(
    e.aead,
    deriveDirectionKey(new Uint8Array(32).fill(9), id, "iotnet-uvf-v4", {
      from: "alice",
      to: "bob",
    }),
  );
  try {
    const sealed = e.aliceSends.seal(data(1));
    for (let i = 0; i < sealed.length; i++) {
      const edited = sealed.slice();
      edited[i]! ^= 0x01;
      assert.equal(e.bobOpens.open(edited), undefined, `byte ${i} flipped`);
    }
    assert.equal(e.bobOpens.open(sealed.slice(0, sealed.length - 1)), undefined, "cut");
    assert.equal(e.bobOpens.open(foreign.seal(data(1))), undefined, "foreign key");
    // None of those moved the window: the genuine datagram still opens.
    assert.ok(e.bobOpens.open(sealed.slice()));
  } finally {
    e.aead.close();
  }
});

Deno.test("packet protection: a datagram carrying another id does not open, whatever its key", () => {
  // The id is not in the associated data: the key binds it (derived with the id as salt),
  // and the opener takes only its own id. Here a sender holds bob's key but stamps a
  // datagram with another transfer's id, and it seals correctly under that key.
  const e = ends();
  const ab = deriveDirectionKey(secret, id, "iotnet-uvf-v4", { from: "alice", to: "bob" });
  const other = id.map((b) => b ^ 0xff);
  const stamped = new PacketSealer(e.aead, { ...ab, id: other });
  try {
    const packet = encodePacket({ type: "data", id: other, seq: 0, payload: new Uint8Array(9) });
    assert.equal(e.bobOpens.open(stamped.seal(packet)), undefined);
    // The same key with the right id opens (so the drop above is the id's).
    const right = new PacketSealer(e.aead, ab);
    assert.ok(e.bobOpens.open(right.seal(data(0))));
  } finally {
    e.aead.close();
  }
});

Deno.test("packet protection: a retransmission gets a fresh number and never repeats a nonce", () => {
  const e = ends();
  try {
    const first = e.aliceSends.seal(data(3));
    const again = e.aliceSends.seal(data(3)); // the same packet sent twice
    assert.notDeepEqual(first, again);
    assert.ok(e.bobOpens.open(again.slice()));
    assert.equal(e.bobOpens.lastPacketNumber, 1);
    assert.ok(e.bobOpens.open(first.slice()), "reordered: older but inside the window");
    assert.equal(e.bobOpens.lastPacketNumber, 0);
  } finally {
    e.aead.close();
  }
});

Deno.test("packet protection: numbers below the replay window are dropped", () => {
  const e = ends();
  try {
    const early = e.aliceSends.seal(data(0));
    for (let i = 0; i < 70; i++) assert.ok(e.bobOpens.open(e.aliceSends.seal(data(i))));
    assert.equal(e.bobOpens.open(early), undefined);
  } finally {
    e.aead.close();
  }
});

Deno.test("packet protection: a batch seals back to back, each under its own number", () => {
  const e = ends();
  try {
    const a = data(0, "aaaa"), b = data(1, "aaaa"), c = data(2, "a");
    const batch = new Uint8Array(a.length + b.length + c.length);
    batch.set(a);
    batch.set(b, a.length);
    batch.set(c, 2 * a.length);
    const out = new Uint8Array(batch.length + 3 * SEAL_OVERHEAD_BYTES);
    const n = e.aliceSends.sealBatch(batch, 3, a.length, out);
    assert.equal(n, out.length);
    let at = 0;
    for (const expected of [a, b, c]) {
      const size = wireLength(out.subarray(at))!;
      assert.deepEqual(e.bobOpens.open(out.slice(at, at + size)), expected);
      at += size;
    }
    assert.equal(at, out.length);
  } finally {
    e.aead.close();
  }
});
