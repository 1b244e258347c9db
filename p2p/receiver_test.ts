import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { AbortCode } from "./errors.ts";
import { type P2pLimits, resolveLimits } from "./limits.ts";
import { type AckPacket, decodePacket } from "./packet.ts";
import { type ReceiverAction, ReceiverCore } from "./receiver.ts";
import { actionsUntilWait } from "../tests/_helpers/core_actions.ts";

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
  assert.equal(core.poll(0).type, "open");
  core.opened(0);
  return core;
}

/** Every action up to and including the `wait`, answering none. */
function drain(core: ReceiverCore, now: number): ReceiverAction[] {
  return actionsUntilWait(() => core.poll(now));
}

/** The ACKs the core sends now (a `write` it asks for is left pending). */
function acks(core: ReceiverCore, now: number): AckPacket[] {
  const out: AckPacket[] = [];
  for (const action of drain(core, now)) {
    if (action.type !== "send") continue;
    const p = decodePacket(action.datagram);
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
    const writes = drain(core, 1).filter((a) => a.type === "write");
    assert.equal(writes.length, 1, "one write at a time");
    const chunks = writes[0]!.chunks;
    assert.ok(chunks.length <= 2, "at most two views (where the ring wraps)");
    chunksSeen += chunks.length;
    for (const c of chunks) out.push(c.slice());
    core.written(1);
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

Deno.test("receiver: asks for the temporary file first and accepts nothing until it is open", () => {
  const file = new Uint8Array(3 * PAYLOAD).fill(4);
  const core = new ReceiverCore({
    id,
    size: file.length,
    payloadBytes: PAYLOAD,
    limits: resolveLimits({ payloadBytes: PAYLOAD }),
    now: 0,
  });
  assert.deepEqual(drain(core, 0).map((a) => a.type), ["open", "wait"]);
  core.handleData(0, payload(file, 0), 1);
  assert.deepEqual(drain(core, 1).map((a) => a.type), ["wait"], "no ACK, no write");
  core.opened(2);
  assert.equal(acks(core, 2)[0]!.cum, 0, "the accepting ACK");
});

Deno.test("receiver: one write at a time, each with every byte accepted meanwhile", () => {
  const file = new Uint8Array(10 * PAYLOAD).fill(5);
  const core = receiver(file.length, {});
  core.handleData(0, payload(file, 0), 1);
  const first = drain(core, 1).filter((a) => a.type === "write");
  assert.equal(first.length, 1);
  for (let seq = 1; seq < 4; seq++) core.handleData(seq, payload(file, seq), 2);
  assert.equal(drain(core, 2).filter((a) => a.type === "write").length, 0, "first still running");
  core.written(3);
  const second = drain(core, 3).filter((a) => a.type === "write");
  assert.equal(second.length, 1);
  assert.equal(
    second[0]!.chunks.reduce((n, c) => n + c.length, 0),
    3 * PAYLOAD,
    "the three packets accepted during the first write",
  );
});

Deno.test("receiver: commits after the last write, then sends FIN_ACK and completes", () => {
  const file = Uint8Array.from({ length: 2 * PAYLOAD - 10 }, (_, i) => i & 0xff);
  const sha256 = createHash("sha256").update(file).digest();
  const core = receiver(file.length, {});
  core.handleData(0, payload(file, 0), 1);
  core.handleData(1, payload(file, 1), 1);
  core.handle({ type: "fin", id, sha256 }, 2);
  assert.ok(drain(core, 2).some((a) => a.type === "write"));
  assert.equal(core.state, "receiving", "not committing while bytes are unwritten");
  core.written(3);
  assert.equal(core.state, "committing");
  const commit = drain(core, 3);
  assert.deepEqual(commit.map((a) => a.type), ["commit", "wait"]);
  assert.equal(waitUntil(commit), undefined, "no stall timeout while committing");
  core.committed(4);
  const done = drain(core, 4);
  assert.deepEqual(done.map((a) => a.type), ["send", "complete", "wait"]);
  const finAck = done[0]!;
  assert.ok(finAck.type === "send" && decodePacket(finAck.datagram).type === "fin_ack");
  assert.deepEqual(done[1], { type: "complete", sha256: new Uint8Array(sha256) });
});

Deno.test("receiver: a failure during a file operation is reported only when it ended", () => {
  const file = new Uint8Array(4 * PAYLOAD).fill(6);
  const core = receiver(file.length, {});
  core.handleData(0, payload(file, 0), 1);
  assert.ok(drain(core, 1).some((a) => a.type === "write"));
  core.fail("blocked", "bob has blocked alice", 2);
  const during = drain(core, 2);
  assert.deepEqual(during.map((a) => a.type), ["send", "wait"], "the ABORT goes out at once");
  assert.equal(waitUntil(during), undefined, "the end of the write is the next event");
  core.written(3);
  assert.deepEqual(drain(core, 3).slice(0, 1), [{
    type: "fail",
    failure: { reason: "blocked", message: "bob has blocked alice" },
  }]);
  // The same while the temporary file is being created, which then fails too:
  const opening = new ReceiverCore({
    id,
    size: 1,
    payloadBytes: PAYLOAD,
    limits: resolveLimits({ payloadBytes: PAYLOAD }),
    now: 0,
  });
  assert.equal(opening.poll(0).type, "open");
  opening.fail("closing", "the receiving endpoint was closed", 1);
  assert.deepEqual(drain(opening, 1).map((a) => a.type), ["send", "wait"]);
  opening.fileOperationFailed("unwritable", "cannot create", 2);
  const failed = drain(opening, 2)[0]!;
  assert.ok(failed.type === "fail");
  assert.equal(failed.failure.reason, "closing", "the first failure is the one reported");
});

Deno.test("receiver: an ended transfer lingers for late FINs, then asks to be forgotten", () => {
  const lingerMs = 10_000;
  const core = receiver(PAYLOAD, { lingerMs });
  core.handle({ type: "abort", id, code: AbortCode.cancelled, reason: "" }, 5);
  const ended = drain(core, 5);
  assert.deepEqual(ended.map((a) => a.type), ["fail", "wait"]);
  assert.equal(waitUntil(ended), 5 + lingerMs);
  assert.equal(drain(core, 5 + lingerMs - 1).at(-1)!.type, "wait");
  assert.deepEqual(drain(core, 5 + lingerMs).map((a) => a.type), ["forget", "wait"]);
  assert.deepEqual(drain(core, 6 + lingerMs).map((a) => a.type), ["wait"], "once");
});

/** The time the last action (a `wait`) asks to be woken at. */
function waitUntil(actions: ReceiverAction[]): number | undefined {
  const last = actions.at(-1);
  assert.ok(last?.type === "wait");
  return last.until;
}
