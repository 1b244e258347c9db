import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type P2pLimits, resolveLimits } from "./limits.ts";
import { type AckPacket, decodePacket } from "./packet.ts";
import { ReceiverCore } from "./receiver.ts";

const id = Uint8Array.from({ length: 16 }, (_, i) => 100 + i);
const PAYLOAD = 1024;

function receiver(
  size: number,
  limits: Partial<P2pLimits>,
  kernelWindowPackets?: number,
): ReceiverCore {
  const core = new ReceiverCore({
    id,
    size,
    payloadBytes: PAYLOAD,
    limits: resolveLimits({ payloadBytes: PAYLOAD, ...limits }),
    now: 0,
    ...(kernelWindowPackets === undefined ? {} : { kernelWindowPackets }),
  });
  core.opened(0);
  return core;
}

function acks(core: ReceiverCore, now: number): AckPacket[] {
  const out: AckPacket[] = [];
  let d: Uint8Array | undefined;
  while ((d = core.pollTransmit(now))) {
    const p = decodePacket(d);
    if (p.type === "ack") out.push(p);
  }
  return out;
}

function payload(file: Uint8Array, seq: number): Uint8Array {
  return file.subarray(seq * PAYLOAD, Math.min(file.length, (seq + 1) * PAYLOAD));
}

Deno.test("receiver: the advertised window never exceeds the kernel buffer's packets", () => {
  const core = receiver(100 * PAYLOAD, { windowPackets: 64 }, 20);
  assert.equal(acks(core, 0)[0]!.window, 20);
  assert.equal(receiver(100 * PAYLOAD, { windowPackets: 64 }).window, 64);
});

Deno.test("receiver: delayed ACKs come at least four times per window", () => {
  const file = new Uint8Array(100 * PAYLOAD).fill(1);
  const core = receiver(file.length, { windowPackets: 64, ackEveryPackets: 64 }, 20);
  acks(core, 0);
  for (let seq = 0; seq < 4; seq++) core.handleData(seq, payload(file, seq), 1);
  assert.equal(acks(core, 1).length, 0, "4 packets: the ACK waits");
  core.handleData(4, payload(file, 4), 1);
  assert.deepEqual(acks(core, 1).map((a) => a.cum), [5], "every 20/4 = 5 packets");
});

Deno.test("receiver: a DATA asking for an immediate ACK gets one", () => {
  const file = new Uint8Array(100 * PAYLOAD).fill(2);
  const core = receiver(file.length, { ackEveryPackets: 64 });
  acks(core, 0);
  core.handleData(0, payload(file, 0), 1);
  assert.equal(acks(core, 1).length, 0);
  core.handleData(1, payload(file, 1), 1, true);
  assert.deepEqual(acks(core, 1).map((a) => a.cum), [2]);
});

Deno.test("receiver: bytes leave in order as few large views, and the digest survives ring wraps", () => {
  const packets = 150;
  const file = Uint8Array.from({ length: packets * PAYLOAD - 300 }, (_, i) => (i * 7) & 0xff);
  const core = receiver(file.length, { windowPackets: 16 });
  const out: Uint8Array[] = [];
  let chunksSeen = 0;
  // Deliver in a shuffled order within each window of 8, writing as we go.
  for (let base = 0; base < packets; base += 8) {
    const seqs = [];
    for (let s = base; s < Math.min(base + 8, packets); s++) seqs.push(s);
    seqs.reverse();
    for (const s of seqs) core.handleData(s, payload(file, s), 1);
    const chunks = core.takeData();
    assert.ok(chunks.length <= 2, "at most two views (where the ring wraps)");
    chunksSeen += chunks.length;
    for (const c of chunks) out.push(c.slice());
    core.consumed(chunks.length, 1);
  }
  core.handle({ type: "fin", id, sha256: createHash("sha256").update(file).digest() }, 2);
  assert.equal(core.state, "committing");
  const got = new Uint8Array(out.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of out) {
    got.set(c, o);
    o += c.length;
  }
  assert.deepEqual(got, file);
  assert.ok(chunksSeen < packets / 4, `${chunksSeen} chunks for ${packets} packets`);
});

Deno.test("receiver: a packet beyond the buffer is dropped and re-advertised", () => {
  const file = new Uint8Array(100 * PAYLOAD).fill(3);
  const core = receiver(file.length, { windowPackets: 16 });
  acks(core, 0);
  core.handleData(16, payload(file, 16), 1);
  const [a] = acks(core, 1);
  assert.equal(a!.cum, 0);
  assert.deepEqual(a!.ranges, []);
  assert.equal(a!.window, 16);
});
