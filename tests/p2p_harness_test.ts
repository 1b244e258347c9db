/**
 * Deterministic virtual-time harness: a SenderCore and a ticket-gated ReceiverCore talk
 * through an in-memory LossyLink on a ManualClock; a PeerEndpoint on a MemorySocket is
 * driven datagram by datagram. No sockets, no sleeps: every run is the same for a seed.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ManualClock } from "../internal/clock.ts";
import { AmplificationLimiter } from "../p2p/amplification.ts";
import { newChatId } from "../p2p/chat_keys.ts";
import { PeerEndpoint } from "../p2p/endpoint.ts";
import { AbortCode, PeerUnreachableError, type TransferError } from "../p2p/errors.ts";
import type { FileFailedEvent } from "../p2p/events.ts";
import { MAX_INCOMING_TRANSFERS_PER_SENDER, type P2pLimits, resolveLimits } from "../p2p/limits.ts";
import { mulberry32 } from "../p2p/loss_model.ts";
import {
  DATA_HEADER_BYTES,
  decodePacket,
  encodePacket,
  HEADER_BYTES,
  hexToId,
  idToHex,
  MalformedPacketError,
} from "../p2p/packet.ts";
import { type ReceiverAction, ReceiverCore } from "../p2p/receiver.ts";
import { SenderCore } from "../p2p/sender.ts";
import { encodeTicket, fromHex, newTicketKey, newTransferId, signTicket } from "../p2p/ticket.ts";
import { TicketGuard } from "../p2p/ticket_guard.ts";
import type { PeerAddr } from "../p2p/udp_socket.ts";
import { type LossConfig, LossyLink } from "./_helpers/lossy_relay.ts";
import { actionsUntilWait } from "./_helpers/core_actions.ts";
import { MemorySocket } from "./_helpers/memory_socket.ts";
import { waitUntil } from "./_helpers/wait.ts";

const T0 = 1_700_000_000_000;

function content(size: number, seed: number): Uint8Array {
  const r = mulberry32(seed);
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let i = 0;
  for (; i + 4 <= size; i += 4) v.setUint32(i, (r() * 2 ** 32) >>> 0);
  for (; i < size; i++) out[i] = (r() * 256) | 0;
  return out;
}

interface RunOptions {
  size: number;
  limits?: Partial<P2pLimits>;
  aToB?: Omit<LossConfig, "seed">;
  bToA?: Omit<LossConfig, "seed">;
  seed?: number;
  /** Kill the link at this virtual time after the start. */
  deadAfterMs?: number;
  maxVirtualMs?: number;
}

interface RunResult {
  received: Uint8Array;
  sent: Uint8Array;
  sender: SenderCore;
  receiver: ReceiverCore | undefined;
  elapsedMs: number;
  endedAt: number;
  maxDatagram: number;
  maxPayload: number;
  dataSends: number;
  limits: P2pLimits;
  link: LossyLink;
}

async function run(o: RunOptions): Promise<RunResult> {
  const limits = resolveLimits({
    minRtoMs: 100,
    giveUpMs: 5_000,
    stallTimeoutMs: 8_000,
    ...o.limits,
  });
  const seed = o.seed ?? 1;
  const clock = new ManualClock(T0);
  const link = new LossyLink(clock, { delayMs: 10, ...o.aToB, seed }, {
    delayMs: 10,
    ...o.bToA,
    seed: seed + 1000,
  });
  const key = newTicketKey();
  const transferId = newTransferId();
  const signed = await signTicket(key, {
    kind: "file",
    transferId,
    from: "alice",
    to: "bob",
    filename: "f.bin",
    size: o.size,
    expiresAt: T0 + 3_600_000,
  });
  const src = content(o.size, seed);
  const sender = new SenderCore({
    id: hexToId(transferId),
    ticket: encodeTicket(signed.ticket),
    mac: fromHex(signed.mac),
    size: o.size,
    limits,
    now: clock.now(),
  });
  const guard = new TicketGuard();
  guard.setIdentity(key, "bob");
  let receiver: ReceiverCore | undefined;
  const chunks: Uint8Array[] = [];
  let fed = 0;
  let maxDatagram = 0;
  let maxPayload = 0;
  let dataSends = 0;
  /** When each core last said it waits until (its timer). */
  let senderWakeAt: number | undefined;
  let receiverWakeAt: number | undefined;

  /** Carries out the sender's actions until it waits; reads and writes complete at once. */
  function pumpSender(): void {
    const now = clock.now();
    for (;;) {
      const action = sender.poll(now);
      if (action.type === "read") {
        sender.push(src.subarray(fed, fed + action.bytes));
        fed += action.bytes;
      } else if (action.type === "send") {
        const d = action.bytes;
        maxDatagram = Math.max(maxDatagram, d.length);
        const p = decodePacket(d);
        if (p.type === "data") {
          dataSends++;
          maxPayload = Math.max(maxPayload, p.payload.length);
        }
        link.send("a", d);
      } else if (action.type === "wait") {
        senderWakeAt = action.until;
        return;
      }
    }
  }
  function pumpReceiver(): void {
    if (!receiver) return;
    const now = clock.now();
    for (;;) {
      const action = receiver.poll(now);
      switch (action.type) {
        case "open":
          receiver.opened(now);
          break;
        case "write":
          chunks.push(...action.chunks.map((c) => c.slice()));
          receiver.written(now);
          break;
        case "commit":
          receiver.committed(now);
          break;
        case "send":
          maxDatagram = Math.max(maxDatagram, action.datagram.length);
          link.send("b", action.datagram);
          break;
        case "wait":
          receiverWakeAt = action.until;
          return;
        default:
          break;
      }
    }
  }
  link.on("b", (bytes) => {
    const p = decodePacket(bytes);
    const now = clock.now();
    if (!receiver) {
      if (p.type !== "start") return;
      const adm = guard.admitStart(p, now);
      if (!adm.ok) return;
      receiver = new ReceiverCore({
        id: p.id,
        size: adm.ticket.size,
        payloadBytes: p.payloadBytes,
        limits,
        now,
      });
    } else {
      receiver.handle(p, now);
    }
    pumpReceiver();
  });
  link.on("a", (bytes) => {
    sender.handle(decodePacket(bytes), clock.now());
    pumpSender();
  });

  const maxT = T0 + (o.maxVirtualMs ?? 600_000);
  let endedAt = 0;
  for (;;) {
    const now = clock.now();
    if (o.deadAfterMs !== undefined && now - T0 >= o.deadAfterMs) link.dead = true;
    sender.handleTimeout(now);
    receiver?.handleTimeout(now);
    pumpSender();
    pumpReceiver();
    if (sender.ended && endedAt === 0) endedAt = now;
    if (sender.ended && (!receiver || receiver.ended) && link.inFlight === 0) break;
    if (now > maxT) throw new Error(`harness did not finish in ${o.maxVirtualMs} virtual ms`);
    let t = Math.min(senderWakeAt ?? Infinity, receiverWakeAt ?? Infinity);
    if (o.deadAfterMs !== undefined && !link.dead) t = Math.min(t, T0 + o.deadAfterMs);
    const step = Math.max(1, Math.min(t - now, 50));
    clock.advance(step);
  }
  const received = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    received.set(c, off);
    off += c.length;
  }
  return {
    received,
    sent: src,
    sender,
    receiver,
    elapsedMs: clock.now() - T0,
    endedAt: endedAt - T0,
    maxDatagram,
    maxPayload,
    dataSends,
    limits,
    link,
  };
}

function sha(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

function assertIntact(r: RunResult): void {
  assert.equal(r.sender.state, "done", r.sender.error?.message);
  assert.equal(r.receiver?.state, "done");
  assert.equal(r.received.length, r.sent.length);
  assert.equal(sha(r.received), sha(r.sent));
}

Deno.test("harness: a clean link delivers the file byte-identical with no retransmission", async () => {
  const r = await run({ size: 1_000_000 });
  assertIntact(r);
  assert.equal(r.sender.stats.retransmits, 0);
  assert.equal(r.dataSends, Math.ceil(1_000_000 / r.limits.payloadBytes));
});

Deno.test("harness: an empty file completes with START, FIN and FIN_ACK only", async () => {
  const r = await run({ size: 0 });
  assertIntact(r);
  assert.equal(r.dataSends, 0);
});

Deno.test("harness: duplicated ACKs never cause extra data packets", async () => {
  const size = 2_000_000;
  const r = await run({ size, bToA: { duplicate: 1, reorder: 0.2, reorderMs: 3 } });
  assertIntact(r);
  assert.equal(r.sender.stats.retransmits, 0);
  assert.equal(r.dataSends, Math.ceil(size / r.limits.payloadBytes));
});

Deno.test("harness: reordering alone causes at most 1% spurious retransmissions", async () => {
  const size = 4_000_000;
  const r = await run({
    size,
    aToB: { reorder: 0.1, reorderMs: 4 },
    bToA: { reorder: 0.1, reorderMs: 4 },
  });
  assertIntact(r);
  const packets = Math.ceil(size / r.limits.payloadBytes);
  assert.ok(r.link.counters("a").reordered > 200, "the link did reorder");
  assert.ok(
    r.sender.stats.retransmits <= packets * 0.01,
    `${r.sender.stats.retransmits} retransmits for ${packets} packets`,
  );
});

Deno.test("harness: no datagram exceeds the configured payload size, even under loss", async () => {
  const payloadBytes = 1100;
  const r = await run({
    size: 1_500_000,
    limits: { payloadBytes, readBlockBytes: 70_001 },
    aToB: { loss: 0.1, duplicate: 0.05, reorder: 0.05 },
    bToA: { loss: 0.1 },
  });
  assertIntact(r);
  assert.equal(r.maxPayload, payloadBytes);
  assert.ok(
    r.maxDatagram <= payloadBytes + DATA_HEADER_BYTES,
    `datagram of ${r.maxDatagram} bytes`,
  );
});

for (const loss of [0.05, 0.25]) {
  Deno.test(`harness: ${loss * 100}% loss with duplication and reordering completes byte-identical`, async () => {
    const impair = { loss, duplicate: 0.05, reorder: 0.05, reorderMs: 5 };
    for (const seed of [1, 2]) {
      const r = await run({ size: 1_500_000, seed, aToB: impair, bToA: impair });
      assertIntact(r);
      assert.ok(r.sender.stats.retransmits > 0);
    }
  });
}

Deno.test("harness: a link that dies mid-transfer ends in PeerUnreachableError within the give-up time", async () => {
  const r = await run({ size: 50_000_000, deadAfterMs: 300 });
  assert.equal(r.sender.state, "failed");
  const err = r.sender.error as TransferError;
  assert.ok(err instanceof PeerUnreachableError, String(err));
  assert.match(err.message, /stopped answering/);
  assert.ok(r.endedAt <= 300 + r.limits.giveUpMs + 50, `ended at ${r.endedAt} ms`);
  assert.equal(r.receiver?.state, "failed");
  assert.equal(r.receiver?.failure?.reason, "stalled");
});

Deno.test("harness: a receiver that never answers fails the sender within the give-up time", async () => {
  const r = await run({ size: 10_000, aToB: { loss: 1 } });
  assert.ok(r.sender.error instanceof PeerUnreachableError);
  assert.match(r.sender.error.message, /never answered/);
  assert.ok(r.endedAt <= r.limits.giveUpMs + 1);
  // START retransmissions back off exponentially: few datagrams in 5 s.
  assert.ok(r.sender.stats.datagramsSent <= 8, `${r.sender.stats.datagramsSent} STARTs`);
});

Deno.test("harness: RTO retransmissions never sample RTT (Karn) and back off", async () => {
  // Lose every data packet in the first 400 ms: only RTO recovers; samples would be
  // wildly low if retransmitted packets were timed against their first send.
  const clean = await run({ size: 200_000 });
  const r = await run({ size: 200_000, aToB: { loss: 0.5 }, seed: 9 });
  assertIntact(r);
  assert.ok(r.sender.stats.retransmits > 0);
  const srtt = r.sender.rtt.srtt!;
  assert.ok(srtt >= 20, `srtt ${srtt} must not fall below the real 20 ms RTT`);
  assert.ok(clean.sender.rtt.minRtt >= 20);
});

Deno.test("harness: before validation the receiver sends ≤ 3× what it got from an address", async () => {
  const key = newTicketKey();
  const guard = new TicketGuard();
  guard.setIdentity(key, "bob");
  const limiter = new AmplificationLimiter(3);
  const rand = mulberry32(5);
  let received = 0;
  let sent = 0;
  const attacker = "10.0.0.9:4000"; // only a map key: nothing is sent anywhere
  for (let i = 0; i < 2000; i++) {
    let bytes: Uint8Array;
    if (i % 3 === 0) {
      const s = await signTicket(newTicketKey(), {
        kind: "file",
        transferId: newTransferId(),
        from: "x",
        to: "bob",
        filename: "f",
        size: 1,
        expiresAt: T0 + 10_000,
      });
      bytes = encodePacket({
        type: "start",
        id: hexToId(s.ticket.transferId),
        payloadBytes: 1400,
        ticket: encodeTicket(s.ticket),
        mac: fromHex(s.mac),
      });
    } else if (i % 3 === 1) {
      bytes = encodePacket({
        type: "start",
        id: new Uint8Array(16),
        payloadBytes: 1400,
        ticket: new Uint8Array(0),
        mac: new Uint8Array(32),
      });
    } else {
      bytes = Uint8Array.from(
        { length: 1 + Math.floor(rand() * 40) },
        () => Math.floor(rand() * 256),
      );
    }
    received += bytes.length;
    limiter.received(attacker, bytes.length);
    let p;
    try {
      p = decodePacket(bytes);
    } catch (e) {
      assert.ok(e instanceof MalformedPacketError);
      continue;
    }
    if (p.type !== "start") continue;
    const adm = guard.admitStart(p, T0);
    assert.equal(adm.ok, false);
    if (!adm.ok) {
      const reply = encodePacket({ type: "abort", id: p.id, code: 1, reason: adm.message });
      if (limiter.trySend(attacker, reply.length)) sent += reply.length;
    }
  }
  assert.ok(sent > 0);
  assert.ok(sent <= 3 * received, `sent ${sent} for ${received} received`);
});

Deno.test("harness: only new bytes hold off the stall timeout; invalid, duplicate and early datagrams do not", () => {
  const limits = resolveLimits({ stallTimeoutMs: 30_000 });
  const receiver = (): ReceiverCore => {
    // 2^40 bytes, as a hostile ticket may announce: the transfer would never end.
    const core = new ReceiverCore({
      id: new Uint8Array(16),
      size: 2 ** 40,
      payloadBytes: 1400,
      limits,
      now: T0,
    });
    openAtOnce(core, T0);
    return core;
  };
  const packet = new Uint8Array(1400);
  const deliver = (core: ReceiverCore, seq: number, now: number) => {
    core.handleData(seq, packet, now);
    writeAtOnce(core, now);
  };
  const hostile = receiver();
  const trickle = receiver();
  deliver(hostile, 0, T0);
  deliver(trickle, 0, T0);
  for (let t = 10_000; t <= 60_000; t += 10_000) {
    const now = T0 + t;
    // Datagrams every 10 s, none of them new bytes:
    hostile.handleData(0, packet, now); // a duplicate
    hostile.handleData(1, new Uint8Array(7), now); // wrong length
    hostile.handleData(2 ** 31, packet, now); // beyond the window
    hostile.handle({ type: "fin", id: new Uint8Array(16), sha256: new Uint8Array(32) }, now);
    hostile.handle({
      type: "start",
      id: new Uint8Array(16),
      payloadBytes: 1400,
      ticket: new Uint8Array(0),
      mac: new Uint8Array(32),
    }, now);
    // ... while a slow but real sender delivers one new packet every 10 s.
    deliver(trickle, t / 10_000, now);
    for (const core of [hostile, trickle]) core.handleTimeout(now);
    if (t < 30_000) assert.equal(hostile.state, "receiving", `at ${t} ms`);
  }
  assert.equal(hostile.state, "failed");
  assert.equal(hostile.failure?.reason, "stalled");
  assert.match(hostile.failure!.message, /no new data from the sender for 30 s/);
  assert.equal(trickle.state, "receiving");
});

Deno.test("harness: while accepted bytes wait for the disk, the stall timeout does not run", () => {
  const limits = resolveLimits({ stallTimeoutMs: 1_000 });
  const core = new ReceiverCore({
    id: new Uint8Array(16),
    size: 14_000,
    payloadBytes: 1400,
    limits,
    now: T0,
  });
  openAtOnce(core, T0);
  core.handleData(0, new Uint8Array(1400), T0);
  // The ACKs, and a write that takes 5 s:
  const actions = receiverActions(core, T0);
  assert.ok(actions.some((a) => a.type === "write"));
  assert.equal(waitUntilOf(actions), undefined);
  core.handleTimeout(T0 + 5_000);
  assert.equal(core.state, "receiving");
  core.written(T0 + 5_000);
  assert.equal(waitUntilOf(receiverActions(core, T0 + 5_000)), T0 + 6_000);
  core.handleTimeout(T0 + 5_999);
  assert.equal(core.state, "receiving");
  core.handleTimeout(T0 + 6_000);
  assert.equal(core.failure?.reason, "stalled");
});

Deno.test("harness: one sender holds at most 4 of a receiver's slots, and invalid DATA does not keep them past the stall timeout", async () => {
  const clock = new ManualClock(T0);
  const socket = new MemorySocket();
  const dir = await Deno.makeTempDir({ prefix: "uvf_slots_" });
  const key = newTicketKey();
  const bob = await PeerEndpoint.open({
    receiveDir: dir,
    socket,
    clock,
    limits: { stallTimeoutMs: 30_000 },
  });
  bob.setTicketKey(key, "bob");
  try {
    const mallory = { hostname: "127.0.0.1", port: 6666 };
    const carol = { hostname: "127.0.0.1", port: 7777 };
    const started: string[] = [];
    bob.on("file_started", (e) => started.push(e.from));
    const failed: FileFailedEvent[] = [];
    bob.on("file_failed", (e) => failed.push(e));
    const start = async (from: string, addr: PeerAddr): Promise<Uint8Array> => {
      const t = await signTicket(key, {
        kind: "file",
        transferId: newTransferId(),
        from,
        to: "bob",
        filename: "huge.bin",
        size: 2 ** 40,
        expiresAt: T0 + 60_000,
      });
      const id = hexToId(t.ticket.transferId);
      socket.inject(
        encodePacket({
          type: "start",
          id,
          payloadBytes: 1400,
          ticket: encodeTicket(t.ticket),
          mac: fromHex(t.mac),
        }),
        addr,
      );
      return id;
    };
    const sentTo = (id: Uint8Array, type: string) =>
      socket.sent.filter((d) => d.packet.type === type && idToHex(d.packet.id) === idToHex(id));
    const limit = MAX_INCOMING_TRANSFERS_PER_SENDER;
    const ids: Uint8Array[] = [];
    for (let i = 0; i <= limit; i++) ids.push(await start("mallory", mallory));
    const extra = ids.pop()!;
    await waitUntil(() => sentTo(extra, "abort").length > 0, "the extra START to be refused");
    const refusal = sentTo(extra, "abort")[0]!.packet;
    assert.ok(refusal.type === "abort");
    assert.equal(refusal.code, AbortCode.busy);
    assert.match(refusal.reason, /already receiving 4 files from mallory/);
    assert.equal(started.length, limit);
    // Another sender still gets a slot.
    const fromCarol = await start("carol", carol);
    await waitUntil(
      () => [...ids, fromCarol].every((id) => sentTo(id, "ack").length > 0),
      "every admitted transfer to open",
    );
    assert.deepEqual(started, ["mallory", "mallory", "mallory", "mallory", "carol"]);
    // mallory sends one invalid DATA per transfer every 10 s; carol sends nothing.
    for (let t = 0; t < 30_000; t += 10_000) {
      const before = bob.stats.datagramsIn;
      for (const id of ids) {
        socket.inject(
          encodePacket({ type: "data", id, seq: 0, payload: new Uint8Array(7) }),
          mallory,
        );
      }
      await waitUntil(() => bob.stats.datagramsIn === before + ids.length, "the DATA to arrive");
      clock.advance(10_000);
    }
    await waitUntil(() => failed.length === limit + 1, "the stalled transfers to end");
    assert.deepEqual(new Set(failed.map((f) => f.reason)), new Set(["stalled"]));
    // The slots are free again.
    await start("mallory", mallory);
    await waitUntil(() => started.length === limit + 2, "a new transfer from mallory");
  } finally {
    await bob.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("harness: an edited, replayed, reflected or re-sent-from-another-port chat datagram is dropped; the genuine one is delivered once", async () => {
  const clock = new ManualClock(T0);
  const aliceSocket = new MemorySocket(5001);
  const bobSocket = new MemorySocket(5002);
  const dir = await Deno.makeTempDir({ prefix: "uvf_chat_" });
  const open = async (name: string, socket: MemorySocket) => {
    const ep = await PeerEndpoint.open({ receiveDir: dir, socket, clock });
    ep.setTicketKey(newTicketKey(), name);
    return ep;
  };
  const alice = await open("alice", aliceSocket);
  const bob = await open("bob", bobSocket);
  try {
    const chatId = newChatId();
    const secret = crypto.getRandomValues(new Uint8Array(32));
    alice.openChat({ chatId, peer: "bob", addr: bobSocket.addr, secret });
    bob.openChat({ chatId, peer: "alice", addr: aliceSocket.addr, secret });
    const heard: string[] = [];
    bob.on("chat", (e) => heard.push(`${e.from}: ${e.text}`));
    const mallory = { hostname: "127.0.0.1", port: 6666 };

    /** What alice puts on the wire for one message (its ack never comes: no tries left). */
    const captured: Uint8Array[] = [];
    const capture = async (text: string): Promise<Uint8Array> => {
      const before = aliceSocket.sent.length;
      const sending = alice.sendChat(chatId, text);
      await waitUntil(() => aliceSocket.sent.length > before, "alice to send", 10_000, 1);
      const bytes = aliceSocket.sent[before]!.bytes;
      captured.push(bytes);
      void sending.catch(() => {}); // settled by close()
      return bytes;
    };
    /** Hands `bytes` to bob as if from `from`; resolves once bob has taken it. */
    const toBob = async (bytes: Uint8Array, from: PeerAddr) => {
      const before = bob.stats.datagramsIn;
      bobSocket.inject(bytes, from);
      await waitUntil(() => bob.stats.datagramsIn > before, "bob to read it", 10_000, 1);
    };
    const acksFromBob = () => bobSocket.sent.filter((d) => d.packet.type === "chat_ack").length;

    const first = await capture("hello bob");
    // Edited (the text changed, as in the reported attack), from alice's own address:
    const edited = first.slice();
    edited[HEADER_BYTES + 10]! ^= 0x20;
    await toBob(edited, aliceSocket.addr);
    // Edited and re-sent from another port, and genuine but from another port:
    await toBob(edited, mallory);
    await toBob(first, mallory);
    assert.deepEqual(heard, []);
    assert.equal(acksFromBob(), 0, "nothing unauthenticated is answered");
    // The genuine datagram from alice's address is delivered, once.
    await toBob(first, aliceSocket.addr);
    assert.deepEqual(heard, ["alice: hello bob"]);
    assert.equal(acksFromBob(), 1);
    // Replayed later (by anyone): not delivered again.
    await toBob(first, aliceSocket.addr);
    await toBob(first, mallory);
    assert.deepEqual(heard, ["alice: hello bob"]);
    // Bob's own message reflected back to him, as if from alice: another direction's key.
    const bobSent = bobSocket.sent.length;
    void bob.sendChat(chatId, "to alice").catch(() => {});
    await waitUntil(() => bobSocket.sent.length > bobSent, "bob to send", 10_000, 1);
    await toBob(bobSocket.sent[bobSent]!.bytes, aliceSocket.addr);
    // A forged message: right chat id and number, a tag under a guessed key.
    const forged = (await capture("second")).slice();
    forged.set(new Uint8Array(32), forged.length - 32);
    await toBob(forged, aliceSocket.addr);
    assert.deepEqual(heard, ["alice: hello bob"]);
    assert.ok(bob.stats.rejected >= 6, `rejected ${bob.stats.rejected}`);
    // The genuine second message still gets through: a forgery burns no number.
    await toBob(captured[1]!, aliceSocket.addr);
    assert.deepEqual(heard, ["alice: hello bob", "alice: second"]);
    // Far behind the replay window, the first message is refused too.
    for (let i = 0; i < 70; i++) await toBob(await capture(`m${i}`), aliceSocket.addr);
    assert.equal(heard.length, 72);
    await toBob(first, aliceSocket.addr);
    assert.equal(heard.length, 72);
    // A CHAT_ACK from another port, or edited, settles nothing; bob's genuine one does.
    const pending = alice.sendChat(chatId, "ack me");
    let settled = false;
    void pending.then(() => settled = true, () => {});
    const number = 72;
    const ackFor = () => bobSocket.sent.findLast((d) => d.packet.type === "chat_ack")!.bytes;
    await toBob(aliceSocket.sent.at(-1)!.bytes, aliceSocket.addr);
    const ack = ackFor();
    assert.ok(decodePacket(ack).type === "chat_ack");
    assert.equal((decodePacket(ack) as { number: number }).number, number);
    const aliceIn = () => alice.stats.datagramsIn;
    for (const [bytes, from] of [[ack, mallory], [flipLast(ack), bobSocket.addr]] as const) {
      const before = aliceIn();
      aliceSocket.inject(bytes, from);
      await waitUntil(() => aliceIn() > before, "alice to read it", 10_000, 1);
    }
    assert.equal(settled, false);
    aliceSocket.inject(ack, bobSocket.addr);
    await pending;
  } finally {
    await alice.close();
    await bob.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Every action of `core` up to and including its `wait`, answering none. */
function receiverActions(core: ReceiverCore, now: number): ReceiverAction[] {
  return actionsUntilWait(() => core.poll(now));
}

/** The time the last action (a `wait`) asks to be woken at. */
function waitUntilOf(actions: ReceiverAction[]): number | undefined {
  const last = actions.at(-1);
  assert.ok(last?.type === "wait");
  return last.until;
}

/** Answers the core's `open` at once. */
function openAtOnce(core: ReceiverCore, now: number): void {
  assert.equal(core.poll(now).type, "open");
  core.opened(now);
}

/** Answers every `write` the core asks for at once, until it waits. */
function writeAtOnce(core: ReceiverCore, now: number): void {
  for (;;) {
    const action = core.poll(now);
    if (action.type === "wait") return;
    if (action.type === "write") core.written(now);
  }
}

function flipLast(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  out[out.length - 1]! ^= 1;
  return out;
}
