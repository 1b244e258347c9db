import assert from "node:assert/strict";
import { openAead } from "./aead.ts";
import { TicketGuard } from "./ticket_guard.ts";
import { type FileTicket, fromBase64, newTicketKey, newTransferId, sealTicket } from "./ticket.ts";
import { hexToId, type StartPacket } from "./packet.ts";

const NOW = 1_700_000_000_000;

function start(key: Uint8Array, over: Partial<FileTicket> = {}): StartPacket {
  const t: FileTicket = {
    kind: "file",
    transferId: newTransferId(),
    from: "alice",
    to: "bob",
    filename: "a.txt",
    size: 10,
    expiresAt: NOW + 60_000,
    ...over,
  };
  const s = sealTicket(key, t);
  return {
    type: "start",
    id: hexToId(t.transferId),
    payloadBytes: 1400,
    sealedTicket: fromBase64(s.sealed),
  };
}

Deno.test("a valid START is admitted once and its replay is refused", () => {
  const key = newTicketKey();
  const g = new TicketGuard(openAead("node"));
  g.setIdentity(key, "bob");
  const p = start(key);
  const first = g.admitStart(p, NOW);
  assert.equal(first.ok, true);
  const again = g.admitStart(p, NOW);
  assert.deepEqual(again.ok ? "ok" : again.reason, "replayed");
});

Deno.test("a START sealed with another key, for another device, or expired is refused", () => {
  const key = newTicketKey();
  const g = new TicketGuard(openAead("node"));
  g.setIdentity(key, "bob");
  const wrongKey = g.admitStart(start(newTicketKey()), NOW);
  assert.equal(wrongKey.ok ? "ok" : wrongKey.reason, "bad_ticket");
  const other = g.admitStart(start(key, { to: "carol" }), NOW);
  assert.equal(other.ok ? "ok" : other.reason, "bad_ticket");
  const old = g.admitStart(start(key, { expiresAt: NOW - 1 }), NOW);
  assert.equal(old.ok ? "ok" : old.reason, "expired");
});

Deno.test("a START whose id differs from the ticket's transferId is refused", () => {
  const key = newTicketKey();
  const g = new TicketGuard(openAead("node"));
  g.setIdentity(key, "bob");
  const p = start(key);
  p.id = hexToId(newTransferId());
  const r = g.admitStart(p, NOW);
  assert.equal(r.ok ? "ok" : r.reason, "bad_ticket");
});

Deno.test("nothing is admitted before a key is set", () => {
  const g = new TicketGuard(openAead("node"));
  const r = g.admitStart(start(newTicketKey()), NOW);
  assert.equal(r.ok, false);
});
