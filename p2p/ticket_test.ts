import assert from "node:assert/strict";
import {
  decodeTicket,
  encodeTicket,
  type FileTicket,
  fromHex,
  MalformedTicketError,
  newTicketKey,
  newTransferId,
  signTicket,
  verifyTicket,
  verifyTicketBytes,
} from "./ticket.ts";

const ticket: FileTicket = {
  kind: "file",
  transferId: newTransferId(),
  from: "alice",
  to: "bob",
  filename: "notes.txt",
  size: 12345,
  expiresAt: 1_900_000_000_000,
};

Deno.test("signTicket/verifyTicket round trip; tampering or another key fails", async () => {
  const key = newTicketKey();
  const s = await signTicket(key, ticket);
  assert.equal(s.mac.length, 64);
  assert.equal(await verifyTicket(key, s), true);
  assert.equal(await verifyTicket(newTicketKey(), s), false);
  assert.equal(await verifyTicket(key, { ...s, ticket: { ...ticket, size: 1 } }), false);
  assert.equal(await verifyTicket(key, { ...s, mac: "00" }), false);
  assert.equal(await verifyTicket(key, { ...s, ticket: { ...ticket, from: "" } }), false);
});

Deno.test("the sync byte check agrees with the Web Crypto MAC", async () => {
  const key = newTicketKey();
  const s = await signTicket(key, ticket);
  assert.equal(verifyTicketBytes(key, encodeTicket(s.ticket), fromHex(s.mac)), true);
  const bad = fromHex(s.mac);
  bad[0]! ^= 1;
  assert.equal(verifyTicketBytes(key, encodeTicket(s.ticket), bad), false);
});

Deno.test("signed tickets survive JSON (server → client over TCP)", async () => {
  const key = newTicketKey();
  const s = await signTicket(key, ticket);
  assert.equal(await verifyTicket(key, JSON.parse(JSON.stringify(s))), true);
});

Deno.test("encodeTicket/decodeTicket round trip and reject malformed bytes", () => {
  assert.deepEqual(decodeTicket(encodeTicket(ticket)), ticket);
  const enc = new TextEncoder();
  for (
    const bad of [
      "",
      "{}",
      "[]",
      '["iotnet-ticket-v1","file"]',
      '["other","file","00000000000000000000000000000000","a","b","f",1,1]',
      '["iotnet-ticket-v1","chat","c","a","b",1]',
      '["iotnet-ticket-v1","file","00000000000000000000000000000000","a","b","f",1,-1]',
      '["iotnet-ticket-v1","file","xyz","a","b","f",1,1]',
    ]
  ) {
    assert.throws(() => decodeTicket(enc.encode(bad)), MalformedTicketError, bad);
  }
  assert.throws(() => decodeTicket(new Uint8Array([0xff, 0xfe])), MalformedTicketError);
  assert.throws(() => encodeTicket({ ...ticket, filename: "x".repeat(300) }), MalformedTicketError);
});

Deno.test("a key that is not 32 bytes is a RangeError", async () => {
  await assert.rejects(() => signTicket(new Uint8Array(5), ticket), RangeError);
});
