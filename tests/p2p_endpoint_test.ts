/** Endpoint-to-endpoint transfers over real UDP sockets on 127.0.0.1 (port 0). */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  type FileTicket,
  newTicketKey,
  newTransferId,
  type P2pLimits,
  PeerEndpoint,
  PeerUnreachableError,
  ReceiverStorageError,
  signTicket,
  TransferAbortedError,
  TransferRejectedError,
} from "../p2p/mod.ts";
import { newChatId } from "../p2p/chat_keys.ts";
import { openUdpSocket } from "../p2p/udp_socket.ts";
import { mulberry32 } from "../p2p/loss_model.ts";
import { startLossyRelay } from "./_helpers/lossy_relay.ts";
import { writeAll } from "../internal/write_all.ts";

const FAST: Partial<P2pLimits> = { minRtoMs: 50, giveUpMs: 5_000, stallTimeoutMs: 5_000 };

interface Device {
  name: string;
  key: Uint8Array;
  dir: string;
  ep: PeerEndpoint;
}

async function device(
  name: string,
  limits: Partial<P2pLimits> = FAST,
  reservedName?: (name: string) => boolean,
): Promise<Device & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: `uvf_${name}_` });
  const key = newTicketKey();
  const ep = await PeerEndpoint.open({
    hostname: "127.0.0.1",
    port: 0,
    receiveDir: dir,
    limits,
    ...(reservedName && { reservedName }),
  });
  ep.setTicketKey(key, name);
  return {
    name,
    key,
    dir,
    ep,
    async [Symbol.asyncDispose]() {
      await ep.close();
      await Deno.chmod(dir, 0o755).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function ticket(
  from: Device,
  to: Device,
  filename: string,
  size: number,
  over: Partial<FileTicket> = {},
) {
  return await signTicket(to.key, {
    kind: "file",
    transferId: newTransferId(),
    from: from.name,
    to: to.name,
    filename,
    size,
    expiresAt: Date.now() + 60_000,
    ...over,
  });
}

async function makeFile(dir: string, name: string, size: number, seed = 1): Promise<string> {
  const path = join(dir, name);
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  const r = mulberry32(seed);
  const block = new Uint8Array(1 << 20);
  const v = new DataView(block.buffer);
  for (let left = size; left > 0;) {
    for (let i = 0; i < block.length; i += 4) v.setUint32(i, (r() * 2 ** 32) >>> 0);
    const n = Math.min(left, block.length);
    await writeAll(f, block.subarray(0, n));
    left -= n;
  }
  f.close();
  return path;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  const f = await Deno.open(path);
  for await (const chunk of f.readable) h.update(chunk);
  return h.digest("hex");
}

function addr(d: Device) {
  return { hostname: "127.0.0.1", port: d.ep.port };
}

const wait = (ms: number) => AbortSignal.timeout(ms);

Deno.test("endpoint: a small file arrives as <sender>_<filename> with a matching SHA-256", async () => {
  await using alice = await device("alice");
  await using bob = await device("bob");
  const path = await makeFile(alice.dir, "hello.txt", 10_000);
  const arrived = bob.ep.events.once("file", undefined, wait(10_000));
  const started = bob.ep.events.once("file_started", undefined, wait(10_000));
  let progress = 0;
  const res = await alice.ep.sendFile({
    to: addr(bob),
    path,
    ticket: await ticket(alice, bob, "hello.txt", 10_000),
    onProgress: (sent, total) => {
      assert.equal(total, 10_000);
      progress = sent;
    },
  });
  const e = await arrived;
  assert.equal((await started).filename, "hello.txt");
  assert.equal(e.from, "alice");
  assert.equal(e.path, join(bob.dir, "alice_hello.txt"));
  assert.equal(e.sha256, await sha256File(path));
  assert.equal(res.sha256, e.sha256);
  assert.equal(res.bytes, 10_000);
  assert.equal(progress, 10_000);
  assert.equal(await sha256File(e.path), e.sha256);
  const left = [...Deno.readDirSync(bob.dir)].map((x) => x.name);
  assert.deepEqual(left, ["alice_hello.txt"]);
});

Deno.test("endpoint: one ticket sent twice at once: the second call is refused, the first completes", async () => {
  await using alice = await device("alice");
  await using bob = await device("bob");
  const path = await makeFile(alice.dir, "twice.bin", 50_000);
  const t = await ticket(alice, bob, "twice.bin", 50_000);
  const first = alice.ep.sendFile({ to: addr(bob), path, ticket: t });
  await assert.rejects(
    () => alice.ep.sendFile({ to: addr(bob), path, ticket: t }),
    /is already in progress/,
  );
  assert.equal((await first).bytes, 50_000);
});

Deno.test("endpoint: closed while a file to send is opening, sendFile rejects as closing", async () => {
  await using alice = await device("alice");
  await using bob = await device("bob");
  const path = await makeFile(alice.dir, "late.bin", 50_000);
  const sending = alice.ep.sendFile({
    to: addr(bob),
    path,
    ticket: await ticket(alice, bob, "late.bin", 50_000),
  });
  const refused = assert.rejects(sending, (e: unknown) => {
    assert.ok(e instanceof TransferAbortedError);
    assert.equal(e.reason, "closing");
    return true;
  });
  // close() marks the endpoint closed before it first waits: the file is still opening.
  await alice.ep.close();
  await refused;
});

Deno.test("endpoint: an empty file is transferred", async () => {
  await using alice = await device("alice");
  await using bob = await device("bob");
  const path = await makeFile(alice.dir, "empty", 0);
  const arrived = bob.ep.events.once("file", undefined, wait(10_000));
  const res = await alice.ep.sendFile({
    to: addr(bob),
    path,
    ticket: await ticket(alice, bob, "empty", 0),
  });
  assert.equal(res.bytes, 0);
  const e = await arrived;
  assert.equal((await Deno.stat(e.path)).size, 0);
});

Deno.test("endpoint: a 64 MiB file arrives byte-identical", async () => {
  await using alice = await device("alice");
  await using bob = await device("bob");
  const size = 64 * 1024 * 1024;
  const path = await makeFile(alice.dir, "big.bin", size, 7);
  const arrived = bob.ep.events.once("file", undefined, wait(60_000));
  const t0 = performance.now();
  const res = await alice.ep.sendFile({
    to: addr(bob),
    path,
    ticket: await ticket(alice, bob, "big.bin", size),
  });
  const ms = performance.now() - t0;
  const e = await arrived;
  assert.equal(e.sha256, await sha256File(path));
  assert.equal(await sha256File(e.path), e.sha256);
  console.log(
    `64 MiB in-process: ${ms.toFixed(0)} ms, ${
      (size / ms / 1000).toFixed(1)
    } MB/s, ${res.retransmits} retransmits`,
  );
});

for (const [loss, size] of [[0.05, 8 * 1024 * 1024], [0.25, 2 * 1024 * 1024]] as const) {
  Deno.test(`endpoint: through the lossy relay at ${loss * 100}% loss with duplication and reordering`, async () => {
    await using alice = await device("alice");
    await using bob = await device("bob");
    const path = await makeFile(alice.dir, "lossy.bin", size, 3);
    await using relay = startLossyRelay({
      target: addr(bob),
      forward: { seed: 11, loss, duplicate: 0.05, reorder: 0.05, reorderMs: 3 },
      backward: { seed: 12, loss, duplicate: 0.05, reorder: 0.05, reorderMs: 3 },
    });
    const arrived = bob.ep.events.once("file", undefined, wait(40_000));
    const res = await alice.ep.sendFile({
      to: relay.addr,
      path,
      ticket: await ticket(alice, bob, "lossy.bin", size),
    });
    const e = await arrived;
    assert.equal(await sha256File(e.path), await sha256File(path));
    assert.equal(res.sha256, e.sha256);
    assert.ok(relay.counters.forward.dropped > 0 && relay.counters.forward.duplicated > 0);
    assert.ok(res.retransmits >= relay.counters.forward.dropped * 0.5);
  });
}

Deno.test("endpoint: two concurrent transfers to one receiver and transfers both ways at once", async () => {
  await using alice = await device("alice");
  await using bob = await device("bob");
  await using carol = await device("carol");
  const size = 4 * 1024 * 1024;
  const a = await makeFile(alice.dir, "a.bin", size, 1);
  const c = await makeFile(carol.dir, "c.bin", size, 2);
  const b = await makeFile(bob.dir, "b.bin", size, 3);
  const bobGot: string[] = [];
  bob.ep.on("file", (e) => bobGot.push(e.path));
  const aliceGot = alice.ep.events.once("file", undefined, wait(30_000));
  await Promise.all([
    alice.ep.sendFile({ to: addr(bob), path: a, ticket: await ticket(alice, bob, "a.bin", size) }),
    carol.ep.sendFile({ to: addr(bob), path: c, ticket: await ticket(carol, bob, "c.bin", size) }),
    bob.ep.sendFile({ to: addr(alice), path: b, ticket: await ticket(bob, alice, "b.bin", size) }),
  ]);
  assert.deepEqual(bobGot.sort(), [join(bob.dir, "alice_a.bin"), join(bob.dir, "carol_c.bin")]);
  assert.equal(await sha256File(join(bob.dir, "alice_a.bin")), await sha256File(a));
  assert.equal(await sha256File(join(bob.dir, "carol_c.bin")), await sha256File(c));
  assert.equal(await sha256File((await aliceGot).path), await sha256File(b));
});

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("endpoint: spoofed, malformed and badly signed datagrams are dropped, counted and never amplified", async () => {
  await using alice = await device("alice");
  await using bob = await device("bob");
  const raw = openUdpSocket("127.0.0.1", 0);
  let rawIn = 0;
  const rawLoop = (async () => {
    for (;;) {
      const d = await raw.receive();
      if (!d) return;
      rawIn += d.bytes.length;
    }
  })();
  try {
    // A real transfer is running; the attacker knows its transfer id.
    const size = 2 * 1024 * 1024;
    const path = await makeFile(alice.dir, "real.bin", size, 5);
    const tk = await ticket(alice, bob, "real.bin", size);
    const { encodePacket, hexToId } = await import("../p2p/packet.ts");
    const { encodeTicket, fromHex } = await import("../p2p/ticket.ts");
    const id = hexToId(tk.ticket.transferId);
    const sending = alice.ep.sendFile({ to: addr(bob), path, ticket: tk });
    let rawOut = 0;
    const send = async (b: Uint8Array) => {
      rawOut += b.length;
      await raw.send(b, addr(bob));
    };
    const forged = await signTicket(newTicketKey(), { ...tk.ticket, transferId: newTransferId() });
    for (let seq = 0; seq < 20; seq++) {
      await send(encodePacket({ type: "data", id, seq, payload: new Uint8Array(1400).fill(0xee) }));
    }
    await send(new Uint8Array([1, 2, 3]));
    await send(encodePacket({
      type: "start",
      id: hexToId(forged.ticket.transferId),
      payloadBytes: 1400,
      ticket: encodeTicket(forged.ticket),
      mac: fromHex(forged.mac),
    }));
    await send(
      encodePacket({ type: "fin", id: hexToId(newTransferId()), sha256: new Uint8Array(32) }),
    );
    const res = await sending;
    assert.equal(await sha256File(join(bob.dir, "alice_real.bin")), res.sha256);
    assert.equal(res.sha256, await sha256File(path));
    await until(() => bob.ep.stats.dropped >= 23);
    assert.ok(bob.ep.stats.malformed >= 1);
    assert.ok(bob.ep.stats.rejected >= 1);
    assert.ok(rawIn <= 3 * rawOut, `replied ${rawIn} bytes to ${rawOut}`);
    // Replaying the used ticket is refused.
    await assert.rejects(
      () => alice.ep.sendFile({ to: addr(bob), path, ticket: tk }),
      (e) => e instanceof TransferRejectedError && e.reason === "replayed",
    );
  } finally {
    raw.close();
    await rawLoop;
  }
});

Deno.test("endpoint: a ticket signed with the wrong key is refused with a clear error", async () => {
  await using alice = await device("alice");
  await using bob = await device("bob");
  const path = await makeFile(alice.dir, "x", 100);
  const bad = await signTicket(newTicketKey(), {
    kind: "file",
    transferId: newTransferId(),
    from: "alice",
    to: "bob",
    filename: "x",
    size: 100,
    expiresAt: Date.now() + 60_000,
  });
  await assert.rejects(
    () => alice.ep.sendFile({ to: addr(bob), path, ticket: bad }),
    (e) =>
      e instanceof TransferRejectedError && /bad_ticket/.test(e.message) &&
      /new UVF ticket/.test(e.message),
  );
  assert.equal([...Deno.readDirSync(bob.dir)].length, 0);
  assert.ok(bob.ep.stats.dropped >= 1);
});

Deno.test("endpoint: a file name with path separators is stored under a sanitised base name", async () => {
  await using alice = await device("alice");
  await using bob = await device("bob");
  const path = await makeFile(alice.dir, "src", 500);
  const arrived = bob.ep.events.once("file", undefined, wait(10_000));
  await alice.ep.sendFile({
    to: addr(bob),
    path,
    ticket: await ticket(alice, bob, "../../etc\\..\\evil.txt", 500),
  });
  const e = await arrived;
  assert.equal(e.path, join(bob.dir, "alice_evil.txt"));
  assert.deepEqual([...Deno.readDirSync(bob.dir)].map((x) => x.name), ["alice_evil.txt"]);
});

Deno.test("endpoint: a received file never replaces anything; a taken name gets a counter and the event says where it went", async () => {
  await using cam = await device("cam");
  // cam_1's own data file cam_1-5.txt is reserved, as the edge reserves <name>-<fileID>.txt.
  await using cam1 = await device("cam_1", FAST, (name) => /^cam_1--?\d+\.txt$/.test(name));
  await Deno.writeTextFile(join(cam1.dir, "cam_1-5.txt"), "1\n2\n3\n");
  const send = async (filename: string, content: string) => {
    const path = join(cam.dir, "src");
    await Deno.writeTextFile(path, content);
    const size = new TextEncoder().encode(content).length;
    const arrived = cam1.ep.events.once("file", undefined, wait(10_000));
    await cam.ep.sendFile({
      to: addr(cam1),
      path,
      ticket: await ticket(cam, cam1, filename, size),
    });
    const e = await arrived;
    assert.equal(await Deno.readTextFile(e.path), content, `${filename} arrived intact`);
    return e.path.slice(cam1.dir.length + 1);
  };
  assert.equal(await send("1-5.txt", "999\n"), "cam_1-5 (1).txt");
  assert.equal(await send("1-6.txt", "888\n"), "cam_1-6 (1).txt", "a free data-file name too");
  assert.equal(await send("notes.txt", "one"), "cam_notes.txt");
  assert.equal(await send("notes.txt", "two"), "cam_notes (1).txt");
  assert.equal(await send("..", "dots"), "cam_file");
  assert.equal(await send(" . ", "spaces"), "cam_file (1)");
  assert.equal(await Deno.readTextFile(join(cam1.dir, "cam_1-5.txt")), "1\n2\n3\n");
  assert.equal(await Deno.readTextFile(join(cam1.dir, "cam_notes.txt")), "one");
  assert.equal(await Deno.readTextFile(join(cam1.dir, "cam_file")), "dots");
  assert.equal([...Deno.readDirSync(cam1.dir)].length, 7);
});

Deno.test("endpoint: a sender aborted mid-transfer leaves no file; the receiver is told", async () => {
  await using alice = await device("alice");
  await using bob = await device("bob");
  const size = 32 * 1024 * 1024;
  const path = await makeFile(alice.dir, "abort.bin", size);
  const ac = new AbortController();
  const failed = bob.ep.events.once("file_failed", undefined, wait(10_000));
  await assert.rejects(
    async () =>
      await alice.ep.sendFile({
        to: addr(bob),
        path,
        ticket: await ticket(alice, bob, "abort.bin", size),
        signal: ac.signal,
        onProgress: (sent) => sent > 1_000_000 && ac.abort(),
      }),
    (e) => e instanceof TransferAbortedError && e.reason === "cancelled",
  );
  const f = await failed;
  assert.equal(f.reason, "cancelled");
  await until(() => [...Deno.readDirSync(bob.dir)].length === 0);
});

Deno.test("endpoint: a sender that vanishes leaves no file and its temp file is removed after the stall timeout", async () => {
  const real = openUdpSocket("127.0.0.1", 0);
  let mute = false;
  const socket = {
    addr: real.addr,
    send: (b: Uint8Array, to: { hostname: string; port: number }) =>
      mute ? Promise.resolve() : real.send(b, to),
    receive: () => real.receive(),
    close: () => real.close(),
  };
  const dir = await Deno.makeTempDir({ prefix: "uvf_ghost_" });
  const ghost = await PeerEndpoint.open({ receiveDir: dir, socket, limits: FAST });
  await using bob = await device("bob", { ...FAST, stallTimeoutMs: 400 });
  try {
    const size = 32 * 1024 * 1024;
    const path = await makeFile(dir, "ghost.bin", size);
    const ac = new AbortController();
    const failed = bob.ep.events.once("file_failed", undefined, wait(10_000));
    const sending = ghost.sendFile({
      to: addr(bob),
      path,
      ticket: await ticket({ name: "ghost" } as Device, bob, "ghost.bin", size),
      signal: ac.signal,
      onProgress: (sent) => {
        if (sent > 1_000_000) {
          mute = true; // the ABORT never reaches bob: he must time out on his own
          ac.abort();
        }
      },
    });
    await assert.rejects(() => sending, TransferAbortedError);
    const parts = () => [...Deno.readDirSync(bob.dir)].map((x) => x.name);
    assert.ok(parts().some((n) => n.endsWith(".part")), "a temp file exists while stalled");
    const f = await failed;
    assert.equal(f.reason, "stalled");
    await until(() => parts().length === 0);
  } finally {
    await ghost.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("endpoint: an unwritable receive folder fails clearly on both sides", async () => {
  await using alice = await device("alice");
  const parentFile = await Deno.makeTempFile();
  const bad = join(parentFile, "in"); // a folder under a regular file cannot exist
  const key = newTicketKey();
  const bobEp = await PeerEndpoint.open({ receiveDir: bad, limits: FAST });
  bobEp.setTicketKey(key, "bob");
  try {
    const bob = { name: "bob", key, dir: bad, ep: bobEp } as Device;
    const path = await makeFile(alice.dir, "x.txt", 1000);
    const failed = bobEp.events.once("file_failed", undefined, wait(10_000));
    await assert.rejects(
      async () =>
        await alice.ep.sendFile({
          to: addr(bob),
          path,
          ticket: await ticket(alice, bob, "x.txt", 1000),
        }),
      (e) =>
        e instanceof ReceiverStorageError && e.reason === "unwritable" &&
        /could not store/.test(e.message) &&
        /receive folder/.test(e.message),
    );
    const f = await failed;
    assert.equal(f.reason, "unwritable");
    assert.match(f.message, /cannot create a temporary file/);
  } finally {
    await bobEp.close();
    await Deno.remove(parentFile);
  }
});

Deno.test("endpoint: a dead peer gives PeerUnreachableError within the give-up time", async () => {
  await using alice = await device("alice", { ...FAST, giveUpMs: 600 });
  const silent = openUdpSocket("127.0.0.1", 0); // bound, never answers
  try {
    const path = await makeFile(alice.dir, "x", 100);
    const t0 = Date.now();
    await assert.rejects(
      async () =>
        await alice.ep.sendFile({
          to: silent.addr,
          path,
          ticket: await ticket(alice, { name: "bob", key: newTicketKey() } as Device, "x", 100),
        }),
      (e) => e instanceof PeerUnreachableError && /never answered for 0.6 s/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 2_000);
  } finally {
    silent.close();
  }
});

Deno.test("endpoint: private-chat messages are delivered once both ways, and refused once the chat is closed", async () => {
  const quick = { ...FAST, chatRetryMs: 20, chatTries: 3 };
  await using alice = await device("alice", quick);
  await using bob = await device("bob", quick);
  const chatId = newChatId();
  const secret = crypto.getRandomValues(new Uint8Array(32));
  alice.ep.openChat({ chatId, peer: "bob", addr: addr(bob), secret });
  bob.ep.openChat({ chatId, peer: "alice", addr: addr(alice), secret });
  const got = bob.ep.events.once("chat", undefined, wait(5_000));
  await alice.ep.sendChat(chatId, "hello bob ☺");
  assert.deepEqual(await got, { from: "alice", chatId, text: "hello bob ☺" });
  const back = alice.ep.events.once("chat", undefined, wait(5_000));
  await bob.ep.sendChat(chatId, "hi alice");
  assert.equal((await back).text, "hi alice");
  await assert.rejects(() => alice.ep.sendChat(chatId, "x".repeat(5000)), RangeError);
  await assert.rejects(
    () => alice.ep.sendChat(newChatId(), "no such chat"),
    /no open private chat/,
  );
  bob.ep.closeChat(chatId);
  await assert.rejects(() => alice.ep.sendChat(chatId, "after close"), PeerUnreachableError);
  assert.throws(
    () => alice.ep.openChat({ chatId, peer: "bob", addr: addr(bob), secret: new Uint8Array(8) }),
    RangeError,
  );
});

Deno.test("endpoint: past maxIncomingTransfers a receiver refuses a new transfer as busy", async () => {
  await using alice = await device("alice");
  await using carol = await device("carol");
  await using bob = await device("bob", { ...FAST, maxIncomingTransfers: 1 });
  // alice's transfer goes through a slow relay, so it is still running when carol starts.
  await using relay = startLossyRelay({ target: addr(bob), forward: { seed: 3, delayMs: 20 } });
  const big = await makeFile(alice.dir, "big.bin", 8 * 1024 * 1024);
  const started = bob.ep.events.once("file_started", undefined, wait(10_000));
  const first = alice.ep.sendFile({
    to: relay.addr,
    path: big,
    ticket: await ticket(alice, bob, "big.bin", 8 * 1024 * 1024),
  });
  await started;
  const small = await makeFile(carol.dir, "small.txt", 1000);
  await assert.rejects(
    carol.ep.sendFile({
      to: addr(bob),
      path: small,
      ticket: await ticket(carol, bob, "small.txt", 1000),
    }),
    (e: unknown) => {
      assert.ok(e instanceof TransferRejectedError, String(e));
      assert.match(e.message, /busy/i);
      return true;
    },
  );
  assert.equal((await first).bytes, 8 * 1024 * 1024);
});

Deno.test("endpoint: blockPeer ends transfers both ways with reason blocked, which the blocked side sees, the chat, and its older tickets", async () => {
  await using alice = await device("alice", { ...FAST, chatRetryMs: 20, chatTries: 3 });
  await using bob = await device("bob");
  const chatId = newChatId();
  const secret = crypto.getRandomValues(new Uint8Array(32));
  alice.ep.openChat({ chatId, peer: "bob", addr: addr(bob), secret });
  bob.ep.openChat({ chatId, peer: "alice", addr: addr(alice), secret });
  await alice.ep.sendChat(chatId, "before the block");
  // Slow links both ways keep both transfers running until the block.
  await using toBob = startLossyRelay({ target: addr(bob), forward: { seed: 1, delayMs: 20 } });
  await using toAlice = startLossyRelay({ target: addr(alice), forward: { seed: 2, delayMs: 20 } });
  const size = 16 * 1024 * 1024;
  const a = await makeFile(alice.dir, "a.bin", size, 1);
  const b = await makeFile(bob.dir, "b.bin", size, 2);
  const bobStarted = bob.ep.events.once("file_started", undefined, wait(10_000));
  const aliceStarted = alice.ep.events.once("file_started", undefined, wait(10_000));
  const bobFailed = bob.ep.events.once("file_failed", undefined, wait(10_000));
  const aliceFailed = alice.ep.events.once("file_failed", undefined, wait(10_000));
  const fromAlice = alice.ep.sendFile({
    to: toBob.addr,
    path: a,
    ticket: await ticket(alice, bob, "a.bin", size),
  });
  const fromBob = bob.ep.sendFile({
    to: toAlice.addr,
    path: b,
    ticket: await ticket(bob, alice, "b.bin", size),
  });
  const older = await ticket(alice, bob, "later.bin", size);
  await Promise.all([bobStarted, aliceStarted]);

  bob.ep.blockPeer("alice", 60_000);

  await Promise.all([
    assert.rejects(fromAlice, (e: unknown) => {
      assert.ok(e instanceof TransferAbortedError, String(e));
      assert.equal(e.reason, "blocked");
      assert.match(e.message, /the receiver stopped the transfer: bob has blocked alice/);
      return true;
    }),
    assert.rejects(fromBob, (e: unknown) => {
      assert.ok(e instanceof TransferAbortedError, String(e));
      assert.equal(e.reason, "blocked");
      assert.match(e.message, /stopped sending to alice: you blocked it/);
      return true;
    }),
  ]);
  const seenByAlice = await aliceFailed;
  assert.deepEqual([seenByAlice.from, seenByAlice.reason], ["bob", "blocked"]);
  assert.equal(seenByAlice.message, "bob has blocked alice");
  assert.deepEqual([(await bobFailed).from, (await bobFailed).reason], ["alice", "blocked"]);
  // A ticket the server issued before the block is refused, as blocked.
  await assert.rejects(
    alice.ep.sendFile({ to: addr(bob), path: a, ticket: older }),
    (e: unknown) => e instanceof TransferAbortedError && e.reason === "blocked",
  );
  // The chat is over on bob's side: alice's messages go unanswered, bob cannot send.
  await assert.rejects(alice.ep.sendChat(chatId, "after the block"), PeerUnreachableError);
  await assert.rejects(bob.ep.sendChat(chatId, "to alice"), /no open private chat/);
  await until(() => [...Deno.readDirSync(bob.dir)].every((x) => x.name === "b.bin"));
  await until(() => [...Deno.readDirSync(alice.dir)].every((x) => x.name === "a.bin"));
});
