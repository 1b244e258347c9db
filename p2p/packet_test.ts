import assert from "node:assert/strict";
import {
  DATA_ACK_NOW,
  DATA_HEADER_BYTES,
  dataAsksAckNow,
  dataDatagramBytes,
  dataPayload,
  dataSeq,
  decodePacket,
  encodePacket,
  hasPacketId,
  hexToId,
  idToHex,
  initDataDatagram,
  invalidateDatagram,
  isDataDatagram,
  MalformedPacketError,
  type Packet,
  PACKET_MAGIC,
  packetIdHex,
  SEAL_OVERHEAD_BYTES,
  SEALED_AAD_BYTES,
  SEALED_HEADER_BYTES,
  wireLength,
  writeDataHeader,
  writeSealedAad,
  writeSealedHeader,
} from "./packet.ts";
import { mulberry32 } from "./loss_model.ts";

const id = Uint8Array.from({ length: 16 }, (_, i) => i * 7);
const d32 = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);

const samples: Packet[] = [
  { type: "start", id, payloadBytes: 1400, sealedTicket: new Uint8Array(540).fill(3) },
  { type: "data", id, seq: 0, payload: new Uint8Array(0) },
  { type: "data", id, seq: 0xffff_ffff, payload: Uint8Array.from({ length: 1400 }, (_, i) => i) },
  { type: "data", id, seq: 3, payload: new Uint8Array([9, 8, 7]), ackNow: true },
  { type: "ack", id, cum: 5, window: 128, dups: 3, ranges: [] },
  {
    type: "ack",
    id,
    cum: 5,
    window: 0,
    dups: 0,
    ranges: [{ start: 7, end: 9 }, { start: 12, end: 40 }],
  },
  { type: "fin", id, sha256: d32 },
  { type: "fin_ack", id, sha256: d32 },
  { type: "abort", id, code: 4, reason: "disk full — écrire impossible" },
  { type: "refuse", id, code: 1, reason: "ticket does not open" },
  { type: "chat", id, text: new TextEncoder().encode("hi ☺") },
  { type: "chat", id, text: new Uint8Array(400) },
  { type: "chat_ack", id, number: 2 ** 53 - 1 },
  { type: "chat_ack", id, number: 2 ** 40 + 7 },
];

Deno.test("every packet type round-trips through encode/decode", () => {
  for (const p of samples) assert.deepEqual(decodePacket(encodePacket(p)), p, p.type);
});

Deno.test("a DATA datagram is exactly header plus payload", () => {
  const bytes = encodePacket({ type: "data", id, seq: 1, payload: new Uint8Array(1400) });
  assert.equal(bytes.length, DATA_HEADER_BYTES + 1400);
});

Deno.test("every truncation of every packet is a MalformedPacketError", () => {
  for (const p of samples) {
    const bytes = encodePacket(p);
    for (let n = 0; n < bytes.length; n++) {
      if (p.type === "data" && n >= DATA_HEADER_BYTES) continue; // shorter payload is valid
      if (p.type === "chat" && n >= 18) continue; // shorter text is valid (its seal says)
      assert.throws(
        () => decodePacket(bytes.subarray(0, n)),
        MalformedPacketError,
        `${p.type} cut at ${n}`,
      );
    }
  }
});

Deno.test("trailing bytes, bad magic and unknown types are rejected", () => {
  const fin = encodePacket(samples.find((p) => p.type === "fin")!);
  const longer = new Uint8Array(fin.length + 1);
  longer.set(fin);
  assert.throws(() => decodePacket(longer), MalformedPacketError);
  const badMagic = fin.slice();
  badMagic[0] = 0;
  assert.throws(() => decodePacket(badMagic), MalformedPacketError);
  const badType = fin.slice();
  badType[1] = 99;
  assert.throws(() => decodePacket(badType), MalformedPacketError);
  const version1 = fin.slice();
  version1[0] = 0xb1;
  assert.throws(() => decodePacket(version1), /bad magic\/version/);
});

Deno.test("a chat packet number beyond 2^53 - 1 or text over 400 bytes is malformed", () => {
  const ack = encodePacket({ type: "chat_ack", id, number: 1 });
  ack[18] = 0x00;
  ack[19] = 0x20; // 2^53
  assert.throws(() => decodePacket(ack), /packet number out of range/);
  const chat = encodePacket({ type: "chat", id, text: new Uint8Array(400) });
  const longer = new Uint8Array(chat.length + 1);
  longer.set(chat);
  assert.throws(() => decodePacket(longer), /chat text too long/);
});

Deno.test("SACK ranges must ascend above cum; abort reason must be UTF-8", () => {
  const ack = encodePacket({
    type: "ack",
    id,
    cum: 10,
    window: 1,
    dups: 0,
    ranges: [{ start: 11, end: 12 }],
  });
  const below = ack.slice();
  new DataView(below.buffer).setUint32(18 + 13, 5); // start below cum
  assert.throws(() => decodePacket(below), MalformedPacketError);
  const abort = encodePacket({ type: "abort", id, code: 1, reason: "ab" });
  abort[abort.length - 1] = 0xff;
  assert.throws(() => decodePacket(abort), MalformedPacketError);
});

Deno.test("random garbage never escapes as anything but MalformedPacketError", () => {
  const rand = mulberry32(99);
  for (let i = 0; i < 20_000; i++) {
    const n = Math.floor(rand() * 80);
    const bytes = Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
    if (n > 1 && rand() < 0.7) {
      bytes[0] = PACKET_MAGIC;
      bytes[1] = 1 + Math.floor(rand() * 10);
    }
    try {
      decodePacket(bytes);
    } catch (e) {
      assert.ok(e instanceof MalformedPacketError, String(e));
    }
  }
});

Deno.test("encodePacket rejects out-of-range fields with RangeError", () => {
  assert.throws(
    () => encodePacket({ type: "chat_ack", id: new Uint8Array(3), number: 0 }),
    RangeError,
  );
  assert.throws(() => encodePacket({ type: "chat_ack", id, number: -1 }), RangeError);
  assert.throws(
    () => encodePacket({ type: "chat", id, text: new Uint8Array(401) }),
    RangeError,
  );
  assert.throws(
    () =>
      encodePacket({ type: "start", id, payloadBytes: 1400, sealedTicket: new Uint8Array(539) }),
    RangeError,
  );
  assert.throws(
    () => encodePacket({ type: "data", id, seq: -1, payload: new Uint8Array() }),
    RangeError,
  );
});

Deno.test("a DATA asking for an immediate ACK differs only in its type code", () => {
  const payload = new Uint8Array([1, 2, 3]);
  const plain = encodePacket({ type: "data", id, seq: 5, payload });
  const now = encodePacket({ type: "data", id, seq: 5, payload, ackNow: true });
  assert.equal(now[1], DATA_ACK_NOW);
  assert.deepEqual(now.subarray(2), plain.subarray(2));
});

Deno.test("wireLength reads the length of START, REFUSE and sealed datagrams", () => {
  for (const p of samples) {
    const bytes = encodePacket(p);
    if (p.type === "start" || p.type === "refuse") {
      assert.equal(wireLength(bytes), bytes.length, p.type);
      continue;
    }
    // Sealed: header, number, length field = the body's length, ciphertext, tag.
    const sealed = new Uint8Array(bytes.length + SEAL_OVERHEAD_BYTES);
    sealed.set(bytes.subarray(0, 18));
    new DataView(sealed.buffer).setUint16(26, bytes.length - 18);
    assert.equal(wireLength(sealed), sealed.length, p.type);
    const two = new Uint8Array(sealed.length * 2);
    two.set(sealed);
    two.set(sealed, sealed.length);
    assert.equal(wireLength(two), sealed.length, `${p.type} twice`);
  }
  assert.equal(wireLength(new Uint8Array(10)), undefined);
  const ack = new Uint8Array(27);
  ack[0] = PACKET_MAGIC;
  ack[1] = 3;
  assert.equal(wireLength(ack), undefined, "length field cut off");
  const bad = encodePacket(samples[0]!);
  bad[0] = 0;
  assert.equal(wireLength(bad), undefined);
});

Deno.test("ids convert to and from hex", () => {
  assert.deepEqual(hexToId(idToHex(id)), id);
  assert.throws(() => hexToId("xyz"), SyntaxError);
});

Deno.test("the DATA header readers agree with decodePacket on every DATA sample", () => {
  for (const p of samples) {
    const bytes = encodePacket(p);
    assert.equal(isDataDatagram(bytes), p.type === "data", p.type);
    assert.ok(hasPacketId(bytes, id), p.type);
    assert.equal(packetIdHex(bytes), idToHex(id));
    if (p.type !== "data") continue;
    assert.equal(dataSeq(bytes), p.seq);
    assert.equal(dataAsksAckNow(bytes), p.ackNow === true);
    assert.deepEqual(dataPayload(bytes), p.payload);
    assert.equal(bytes.length, dataDatagramBytes(p.payload.length));
  }
});

Deno.test("the DATA header readers refuse what is not a whole DATA header of this version", () => {
  const data = encodePacket({ type: "data", id, seq: 1, payload: new Uint8Array(4) });
  assert.ok(isDataDatagram(data.subarray(0, DATA_HEADER_BYTES)), "an empty payload is DATA");
  assert.equal(isDataDatagram(data.subarray(0, DATA_HEADER_BYTES - 1)), false, "cut seq");
  const otherVersion = data.slice();
  otherVersion[0] = 0xb1;
  assert.equal(isDataDatagram(otherVersion), false);
  assert.equal(hasPacketId(data.subarray(0, 17), id), false, "cut id");
  const otherId = id.slice();
  otherId[15]! ^= 1;
  assert.equal(hasPacketId(data, otherId), false);
  assert.throws(() => packetIdHex(data.subarray(0, 17)), RangeError);
});

Deno.test("a DATA datagram written in place decodes as the packet encodePacket would make", () => {
  const payload = Uint8Array.from({ length: 100 }, (_, i) => i);
  const datagram = new Uint8Array(dataDatagramBytes(payload.length));
  initDataDatagram(datagram, id);
  assert.throws(() => decodePacket(datagram), MalformedPacketError, "not a packet before a header");
  dataPayload(datagram).set(payload);
  for (const [seq, ackNow] of [[0, false], [0xffff_ffff, true], [77, false]] as const) {
    writeDataHeader(datagram, seq, ackNow);
    assert.deepEqual(datagram, encodePacket({ type: "data", id, seq, payload, ackNow }));
    if (!ackNow) assert.deepEqual(datagram, encodePacket({ type: "data", id, seq, payload }));
  }
  invalidateDatagram(datagram);
  assert.throws(() => decodePacket(datagram), MalformedPacketError, "invalidated");
  assert.equal(isDataDatagram(datagram), false);
});

Deno.test("a sealed datagram's associated data: number, magic, type, 0, length", () => {
  // Two datagrams back to back: the second one's, read at its offset.
  const batch = new Uint8Array(2 * (SEALED_HEADER_BYTES + 16) + 5);
  const second = SEALED_HEADER_BYTES + 16;
  batch.set(encodePacket({ type: "fin_ack", id, sha256: d32 }).subarray(0, 18), second);
  writeSealedHeader(batch, 2 ** 40 + 0x0102, 5, second);
  const aad = new Uint8Array(SEALED_AAD_BYTES).fill(0xee);
  writeSealedAad(batch, second, aad);
  assert.deepEqual([...aad], [0, 0, 1, 0, 0, 0, 1, 2, PACKET_MAGIC, 5, 0, 0, 5]);
  assert.deepEqual([...batch.subarray(second + 18, second + 28)], [0, 0, 1, 0, 0, 0, 1, 2, 0, 5]);
});
