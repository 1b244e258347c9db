/**
 * Sealed peer traffic end to end in virtual time: two endpoints on MemorySockets and a
 * ManualClock, every datagram moved by hand, so the test sees (and tampers with) exactly
 * what would cross the network.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ManualClock } from "../internal/mod.ts";
import { PeerEndpoint } from "../p2p/endpoint.ts";
import { openAead } from "../p2p/aead.ts";
import { encodePacket, hexToId, isDataType } from "../p2p/packet.ts";
import { deriveDirectionKey, PacketSealer } from "../p2p/packet_protection.ts";
import { newTicketKey, newTransferId, sealTicket } from "../p2p/ticket.ts";
import { MemorySocket } from "./_helpers/memory_socket.ts";
import { waitUntil } from "./_helpers/wait.ts";

const T0 = 1_700_000_000_000;
const MARKER = "SEALING-MARKER-";
const FILE_NAME = "secret-plans-file-name.txt";

Deno.test("sealing (node:crypto sender, libcrypto receiver): no file name, size or content in clear; replayed, reordered, edited and foreign datagrams are dropped; the file arrives intact", async () => {
  const clock = new ManualClock(T0);
  const aliceSocket = new MemorySocket(5101);
  const bobSocket = new MemorySocket(5102);
  const dir = await Deno.makeTempDir({ prefix: "uvf_seal_" });
  await Deno.mkdir(join(dir, "in"));
  // The sender seals with node:crypto (the fallback), the receiver with libcrypto (FFI):
  // the two implementations must interoperate datagram by datagram.
  const alice = await PeerEndpoint.open({
    receiveDir: dir,
    socket: aliceSocket,
    clock,
    aead: "node",
  });
  const bob = await PeerEndpoint.open({ receiveDir: join(dir, "in"), socket: bobSocket, clock });
  assert.equal(alice.aeadKind, "node");
  assert.equal(bob.aeadKind, Deno.build.os === "linux" ? "libcrypto" : "node");
  const bobKey = newTicketKey();
  alice.setTicketKey(newTicketKey(), "alice");
  bob.setTicketKey(bobKey, "bob");
  try {
    // 100 KB of lines with the marker: any clear payload byte run would show it.
    const lines: string[] = [];
    for (let i = 0; lines.join("").length < 100_000; i++) lines.push(`${MARKER}${i}\n`);
    const content = new TextEncoder().encode(lines.join(""));
    const path = join(dir, FILE_NAME);
    await Deno.writeFile(path, content);
    const ticket = sealTicket(bobKey, {
      kind: "file",
      transferId: newTransferId(),
      from: "alice",
      to: "bob",
      filename: FILE_NAME,
      size: content.length,
      expiresAt: T0 + 60_000,
    });
    const arrived = bob.events.once("file", undefined, AbortSignal.timeout(60_000));
    const sending = alice.sendFile({ to: bobSocket.addr, path, ticket });
    const fromAlice: Uint8Array[] = [];
    const fromBob: Uint8Array[] = [];
    let aliceAt = 0;
    let bobAt = 0;
    let done = false;
    void arrived.then(() => done = true, () => {});
    let tampered = false;
    // A foreign sender: this transfer's id and layout, sealed under another secret.
    const aead = openAead("node");
    const id = hexToId(ticket.ticket.transferId);
    const mallory = new PacketSealer(
      aead,
      deriveDirectionKey(new Uint8Array(32).fill(7), id, "iotnet-uvf-v4", {
        from: "alice",
        to: "bob",
      }),
    );
    await waitUntil(
      () => {
        // Move what each side sent to the other; hold back every 7th DATA one round
        // (reordered), and after some data inject replays, edits and foreign datagrams.
        const held: Uint8Array[] = [];
        for (; aliceAt < aliceSocket.sent.length; aliceAt++) {
          const bytes = aliceSocket.sent[aliceAt]!.bytes;
          fromAlice.push(bytes);
          if (isDataType(bytes) && aliceAt % 7 === 3) held.push(bytes);
          else bobSocket.inject(bytes, aliceSocket.addr);
        }
        for (const bytes of held) bobSocket.inject(bytes, aliceSocket.addr);
        for (; bobAt < bobSocket.sent.length; bobAt++) {
          fromBob.push(bobSocket.sent[bobAt]!.bytes);
          aliceSocket.inject(bobSocket.sent[bobAt]!.bytes, bobSocket.addr);
        }
        const data = fromAlice.filter(isDataType);
        if (!tampered && data.length > 20) {
          tampered = true;
          for (const bytes of data.slice(0, 10)) bobSocket.inject(bytes, aliceSocket.addr); // replays
          const edited = data[15]!.slice();
          edited[40]! ^= 1;
          bobSocket.inject(edited, aliceSocket.addr);
          const forged = data[16]!.slice();
          forged.set(crypto.getRandomValues(new Uint8Array(16)), forged.length - 16);
          bobSocket.inject(forged, aliceSocket.addr);
          const foreign = mallory.seal(
            encodePacket({ type: "data", id, seq: 0, payload: new Uint8Array(1400).fill(0x41) }),
          );
          bobSocket.inject(foreign, aliceSocket.addr);
        }
        clock.advance(1);
        return done;
      },
      "the file to arrive",
      60_000,
      1,
    );
    const event = await arrived;
    const result = await sending;
    assert.deepEqual(await Deno.readFile(event.path), content);
    assert.equal(result.bytes, content.length);
    assert.ok(tampered);
    // Ten replays, one edit, one forged tag, one foreign: each dropped before the transfer.
    assert.ok(bob.stats.unauthentic >= 13, `unauthentic ${bob.stats.unauthentic}`);
    aead.close();
    // Nothing readable crossed the wire, either way.
    const wire = [...fromAlice, ...fromBob].map((b) => new TextDecoder("latin1").decode(b));
    for (const text of wire) {
      assert.equal(text.includes(MARKER.slice(0, 8)), false, "file content in clear");
      assert.equal(text.includes("secret-plans"), false, "file name in clear");
      assert.equal(text.includes(String(content.length)), false, "file size in clear");
      assert.equal(text.includes("alice"), false, "device name in clear");
    }
    assert.ok(fromAlice.every((b) => b.length <= 1472), "a datagram over 1,472 bytes");
    // A retransmitted DATA packet never repeats a packet number: every datagram differs.
    const seen = new Set(fromAlice.filter(isDataType).map((b) => b.subarray(18, 26).join()));
    assert.equal(seen.size, fromAlice.filter(isDataType).length);
  } finally {
    await alice.close();
    await bob.close();
    await Deno.remove(dir, { recursive: true });
  }
});
