import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { AbortCode, TransferAbortedError } from "./errors.ts";
import { resolveLimits, SEALED_TICKET_BYTES } from "./limits.ts";
import {
  DATA_ACK_NOW,
  DATA_HEADER_BYTES,
  decodePacket,
  encodePacket,
  PacketType,
} from "./packet.ts";
import { SenderCore } from "./sender.ts";
import { actionsUntilWait } from "../tests/_helpers/core_actions.ts";

const id = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const PAYLOAD = 1024;
const DATAGRAM = DATA_HEADER_BYTES + PAYLOAD;

/**
 * The datagram(s) the core sends next, or `undefined` once it waits. `read` actions are
 * served from `file` when given (in order), and otherwise left for the test to answer.
 */
function transmit(
  core: SenderCore,
  now: number,
  maxSegments = 1,
  file?: { bytes: Uint8Array; fed: number },
): Uint8Array | undefined {
  for (;;) {
    const action = core.poll(now, maxSegments);
    switch (action.type) {
      case "send":
        return action.bytes;
      case "read":
        if (file) core.push(file.bytes.subarray(file.fed, file.fed += action.bytes));
        break;
      case "wait":
        return undefined;
      default:
        throw new Error(`unexpected ${action.type}`);
    }
  }
}

/** A sender past its START (first ACK in), with `packets` packets of file pushed. */
function sending(packets: number, limits = {}): { core: SenderCore; file: Uint8Array } {
  const l = resolveLimits({ payloadBytes: PAYLOAD, ...limits });
  const file = Uint8Array.from({ length: packets * PAYLOAD }, (_, i) => (i * 31) & 0xff);
  const core = new SenderCore({
    id,
    sealedTicket: new Uint8Array(SEALED_TICKET_BYTES),
    size: file.length,
    limits: l,
    now: 0,
  });
  const feed = { bytes: file, fed: 0 };
  assert.equal(decodePacket(transmit(core, 0, 1, feed)!).type, "start");
  core.handle(
    decodePacket(encodePacket({ type: "ack", id, cum: 0, window: 4096, dups: 0, ranges: [] })),
    1,
  );
  assert.equal(core.state, "sending");
  assert.equal(feed.fed, file.length, "the whole file was read");
  return { core, file };
}

function split(batch: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < batch.length; o += DATAGRAM) out.push(batch.subarray(o, o + DATAGRAM));
  return out;
}

Deno.test("sender: with segmentation new packets leave as one buffer of adjacent datagrams", () => {
  const { core, file } = sending(40);
  const batch = transmit(core, 2, 8)!;
  assert.equal(batch.length, 8 * DATAGRAM);
  assert.equal(core.stats.datagramsSent, 1 + 8);
  split(batch).forEach((d, i) => {
    const p = decodePacket(d);
    assert.ok(p.type === "data");
    assert.equal(p.seq, i);
    assert.deepEqual(p.payload, file.subarray(i * PAYLOAD, (i + 1) * PAYLOAD));
  });
  // Without segmentation: one datagram per call.
  assert.equal(transmit(core, 2)!.length, DATAGRAM);
});

Deno.test("sender: pushed bytes are copied, so the caller may reuse its read buffer", () => {
  const l = resolveLimits({ payloadBytes: PAYLOAD });
  const core = new SenderCore({
    id,
    sealedTicket: new Uint8Array(SEALED_TICKET_BYTES),
    size: 3 * PAYLOAD,
    limits: l,
    now: 0,
  });
  transmit(core, 0);
  core.handle(
    decodePacket(encodePacket({ type: "ack", id, cum: 0, window: 64, dups: 0, ranges: [] })),
    1,
  );
  const buf = new Uint8Array(2 * PAYLOAD).fill(7);
  core.push(buf.subarray(0, PAYLOAD + 100)); // one whole packet and the start of the next
  buf.fill(9);
  core.push(buf.subarray(0, 2 * PAYLOAD - 100));
  const sent = split(transmit(core, 2, 8)!).map((d) => decodePacket(d));
  assert.equal(sent.length, 3);
  const p1 = sent[1]!;
  assert.ok(p1.type === "data");
  assert.deepEqual(p1.payload.subarray(0, 100), new Uint8Array(100).fill(7));
  assert.deepEqual(p1.payload.subarray(100), new Uint8Array(PAYLOAD - 100).fill(9));
  assert.throws(() => core.push(new Uint8Array(1)), RangeError); // past the file size
});

Deno.test("sender: a small congestion window asks for an immediate ACK when it fills", () => {
  const { core } = sending(40, { initialCwndPackets: 4, minCwndPackets: 2 });
  const batch = split(transmit(core, 2, 8)!);
  assert.equal(batch.length, 4);
  assert.deepEqual(batch.map((d) => d[1]), [
    PacketType.data,
    PacketType.data,
    PacketType.data,
    DATA_ACK_NOW,
  ]);
  assert.equal(transmit(core, 2, 8), undefined); // window full
});

Deno.test("sender: a window large enough for delayed ACKs sends no ACK request", () => {
  const { core } = sending(400, { initialCwndPackets: 200 });
  let d: Uint8Array | undefined;
  let datagrams = 0;
  while ((d = transmit(core, 2, 64))) {
    for (const one of split(d)) {
      assert.equal(one[1], PacketType.data);
      datagrams++;
    }
  }
  assert.equal(datagrams, 200);
});

/** A sender whose START is out, nothing pushed yet: its first read is pending. */
function started(size: number, limits = {}): { core: SenderCore; firstRead: number } {
  const core = new SenderCore({
    id,
    sealedTicket: new Uint8Array(SEALED_TICKET_BYTES),
    size,
    limits: resolveLimits({ payloadBytes: PAYLOAD, ...limits }),
    now: 0,
  });
  const read = core.poll(0);
  assert.ok(read.type === "read");
  return { core, firstRead: read.bytes };
}

Deno.test("sender: asks for the file one block at a time and never twice for the same bytes", () => {
  const { core, firstRead } = started(10 * PAYLOAD, { readBlockBytes: 3 * PAYLOAD });
  assert.equal(firstRead, 3 * PAYLOAD, "a read is at most readBlockBytes");
  // While that read is pending, the core sends its START and then waits.
  assert.equal(core.poll(0).type, "send");
  assert.equal(core.poll(0).type, "wait");
  core.push(new Uint8Array(PAYLOAD)); // part of the read
  assert.equal(core.poll(0).type, "wait", "the read is still pending");
  core.push(new Uint8Array(2 * PAYLOAD));
  assert.deepEqual(core.poll(0), { type: "read", bytes: 3 * PAYLOAD });
});

Deno.test("sender: a retransmission says so in its send action", () => {
  const { core } = sending(4, { initialRtoMs: 300, minRtoMs: 200 });
  const first = core.poll(2);
  assert.ok(first.type === "send" && first.retransmissions === 0);
  const wait = actionsUntilWait(() => core.poll(2)).at(-1)!;
  assert.ok(wait.type === "wait" && wait.until !== undefined);
  core.handleTimeout(wait.until + 1000); // past the RTO: everything in flight is resent
  const resent = core.poll(wait.until + 1000);
  assert.ok(resent.type === "send");
  assert.equal(resent.retransmissions, 1);
  assert.equal(core.stats.retransmits, 1);
});

Deno.test("sender: the end is reported once, after the ABORT that tells the peer", () => {
  const { core } = started(10 * PAYLOAD);
  const error = new TransferAbortedError("local_io", "the file got shorter");
  core.readFailed(error);
  const abort = core.poll(1);
  assert.ok(abort.type === "send");
  const p = decodePacket(abort.bytes);
  assert.ok(p.type === "abort" && p.code === AbortCode.cancelled);
  assert.deepEqual(core.poll(1), { type: "fail", error });
  assert.deepEqual(core.poll(1), { type: "wait", until: undefined });
  assert.deepEqual(core.poll(2), { type: "wait", until: undefined }, "reported once");
});

Deno.test("sender: completes with the file's digest once the receiver confirms it", () => {
  const { core, file } = sending(2);
  actionsUntilWait(() => core.poll(2));
  core.handle({ type: "ack", id, cum: 2, window: 64, dups: 0, ranges: [] }, 3);
  const fin = core.poll(3);
  assert.ok(fin.type === "send" && decodePacket(fin.bytes).type === "fin");
  const sha256 = createHash("sha256").update(file).digest();
  core.handle({ type: "fin_ack", id, sha256 }, 4);
  assert.deepEqual(core.poll(4), { type: "complete", sha256: new Uint8Array(sha256) });
  assert.deepEqual(core.poll(4), { type: "wait", until: undefined });
});
