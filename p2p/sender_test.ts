import assert from "node:assert/strict";
import { resolveLimits } from "./limits.ts";
import {
  DATA_ACK_NOW,
  DATA_HEADER_BYTES,
  decodePacket,
  encodePacket,
  PacketType,
} from "./packet.ts";
import { SenderCore } from "./sender.ts";

const id = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const PAYLOAD = 1024;
const DATAGRAM = DATA_HEADER_BYTES + PAYLOAD;

/** A sender past its START (first ACK in), with `packets` packets of file pushed. */
function sending(packets: number, limits = {}): { core: SenderCore; file: Uint8Array } {
  const l = resolveLimits({ payloadBytes: PAYLOAD, ...limits });
  const file = Uint8Array.from({ length: packets * PAYLOAD }, (_, i) => (i * 31) & 0xff);
  const core = new SenderCore({
    id,
    ticket: new Uint8Array(8),
    mac: new Uint8Array(32),
    size: file.length,
    limits: l,
    now: 0,
  });
  assert.equal(decodePacket(core.pollTransmit(0)!).type, "start");
  core.handle(
    decodePacket(encodePacket({ type: "ack", id, cum: 0, window: 4096, dups: 0, ranges: [] })),
    1,
  );
  assert.equal(core.state, "sending");
  let fed = 0;
  for (let want; (want = core.wantBytes()) > 0; fed += want) {
    core.push(file.subarray(fed, fed + want));
  }
  return { core, file };
}

function split(batch: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < batch.length; o += DATAGRAM) out.push(batch.subarray(o, o + DATAGRAM));
  return out;
}

Deno.test("sender: with segmentation new packets leave as one buffer of adjacent datagrams", () => {
  const { core, file } = sending(40);
  const batch = core.pollTransmit(2, 8)!;
  assert.equal(batch.length, 8 * DATAGRAM);
  assert.equal(core.stats.datagramsSent, 1 + 8);
  split(batch).forEach((d, i) => {
    const p = decodePacket(d);
    assert.ok(p.type === "data");
    assert.equal(p.seq, i);
    assert.deepEqual(p.payload, file.subarray(i * PAYLOAD, (i + 1) * PAYLOAD));
  });
  // Without segmentation: one datagram per call.
  assert.equal(core.pollTransmit(2)!.length, DATAGRAM);
});

Deno.test("sender: pushed bytes are copied, so the caller may reuse its read buffer", () => {
  const l = resolveLimits({ payloadBytes: PAYLOAD });
  const core = new SenderCore({
    id,
    ticket: new Uint8Array(8),
    mac: new Uint8Array(32),
    size: 3 * PAYLOAD,
    limits: l,
    now: 0,
  });
  core.pollTransmit(0);
  core.handle(
    decodePacket(encodePacket({ type: "ack", id, cum: 0, window: 64, dups: 0, ranges: [] })),
    1,
  );
  const buf = new Uint8Array(2 * PAYLOAD).fill(7);
  core.push(buf.subarray(0, PAYLOAD + 100)); // one whole packet and the start of the next
  buf.fill(9);
  core.push(buf.subarray(0, 2 * PAYLOAD - 100));
  const sent = split(core.pollTransmit(2, 8)!).map((d) => decodePacket(d));
  assert.equal(sent.length, 3);
  const p1 = sent[1]!;
  assert.ok(p1.type === "data");
  assert.deepEqual(p1.payload.subarray(0, 100), new Uint8Array(100).fill(7));
  assert.deepEqual(p1.payload.subarray(100), new Uint8Array(PAYLOAD - 100).fill(9));
  assert.throws(() => core.push(new Uint8Array(1)), RangeError); // past the file size
});

Deno.test("sender: a small congestion window asks for an immediate ACK when it fills", () => {
  const { core } = sending(40, { initialCwndPackets: 4, minCwndPackets: 2 });
  const batch = split(core.pollTransmit(2, 8)!);
  assert.equal(batch.length, 4);
  assert.deepEqual(batch.map((d) => d[1]), [
    PacketType.data,
    PacketType.data,
    PacketType.data,
    DATA_ACK_NOW,
  ]);
  assert.equal(core.pollTransmit(2, 8), undefined); // window full
});

Deno.test("sender: a window large enough for delayed ACKs sends no ACK request", () => {
  const { core } = sending(400, { initialCwndPackets: 200 });
  let d: Uint8Array | undefined;
  let datagrams = 0;
  while ((d = core.pollTransmit(2, 64))) {
    for (const one of split(d)) {
      assert.equal(one[1], PacketType.data);
      datagrams++;
    }
  }
  assert.equal(datagrams, 200);
});
