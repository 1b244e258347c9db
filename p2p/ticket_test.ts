import assert from "node:assert/strict";
import { openAead } from "./aead.ts";
import { SEALED_TICKET_BYTES } from "./limits.ts";
import { hexToId } from "./packet.ts";
import {
  decodeTicket,
  encodeTicket,
  type FileTicket,
  fromBase64,
  MalformedTicketError,
  newTicketKey,
  newTransferId,
  openTicket,
  sealTicket,
  ticketSealKey,
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
const id = hexToId(ticket.transferId);

Deno.test("sealTicket/openTicket round trip with the transfer's secret; JSON-safe", () => {
  const key = newTicketKey();
  const given = JSON.parse(JSON.stringify(sealTicket(key, ticket)));
  assert.deepEqual(given.ticket, ticket);
  const sealed = fromBase64(given.sealed);
  assert.equal(sealed.length, SEALED_TICKET_BYTES);
  const opened = openTicket(openAead("node"), ticketSealKey(key), id, sealed);
  assert.deepEqual(opened.ticket, ticket);
  assert.deepEqual(opened.secret, fromBase64(given.secret));
  // Fresh nonce and secret each time.
  const other = sealTicket(key, ticket);
  assert.notEqual(other.sealed, given.sealed);
  assert.notEqual(other.secret, given.secret);
});

Deno.test("a sealed ticket shows neither name nor size, and every ticket seals to one length", () => {
  const key = newTicketKey();
  const short = fromBase64(sealTicket(key, { ...ticket, filename: "a" }).sealed);
  const long = fromBase64(sealTicket(key, { ...ticket, filename: "n".repeat(200) }).sealed);
  assert.equal(short.length, long.length);
  const text = new TextDecoder("latin1").decode(long);
  assert.equal(text.includes("nnnn"), false);
  assert.equal(text.includes("12345"), false);
  assert.equal(text.includes("alice"), false);
});

Deno.test("a sealed ticket does not open edited, under another key, or for another id", () => {
  const key = newTicketKey();
  const aead = openAead("node");
  const sealed = fromBase64(sealTicket(key, ticket).sealed);
  for (const at of [0, 11, 12, 200, SEALED_TICKET_BYTES - 1]) {
    const edited = sealed.slice();
    edited[at]! ^= 1;
    assert.throws(() => openTicket(aead, ticketSealKey(key), id, edited), MalformedTicketError);
  }
  assert.throws(
    () => openTicket(aead, ticketSealKey(newTicketKey()), id, sealed),
    MalformedTicketError,
  );
  assert.throws(
    () => openTicket(aead, ticketSealKey(key), hexToId(newTransferId()), sealed),
    MalformedTicketError,
  );
  assert.throws(
    () => openTicket(aead, ticketSealKey(key), id, sealed.subarray(1)),
    MalformedTicketError,
  );
});

Deno.test("encodeTicket/decodeTicket round trip and reject malformed bytes", () => {
  const secret = new Uint8Array(32).fill(7);
  assert.deepEqual(decodeTicket(encodeTicket(ticket, secret)), { ticket, secret });
  const enc = new TextEncoder();
  const s = btoa(String.fromCharCode(...secret));
  for (
    const bad of [
      "",
      "{}",
      "[]",
      '["iotnet-ticket-v3","file"]',
      `["other","file","00000000000000000000000000000000","a","b","f",1,1,"${s}"]`,
      '["iotnet-ticket-v3","chat","c","a","b",1]',
      `["iotnet-ticket-v3","file","00000000000000000000000000000000","a","b","f",1,-1,"${s}"]`,
      `["iotnet-ticket-v3","file","xyz","a","b","f",1,1,"${s}"]`,
      '["iotnet-ticket-v3","file","00000000000000000000000000000000","a","b","f",1,1,"AAAA"]',
      '["iotnet-ticket-v3","file","00000000000000000000000000000000","a","b","f",1,1,"!"]',
      '["iotnet-ticket-v1","file","00000000000000000000000000000000","a","b","f",1,1]',
    ]
  ) {
    assert.throws(() => decodeTicket(enc.encode(bad)), MalformedTicketError, bad);
  }
  assert.throws(() => decodeTicket(new Uint8Array([0xff, 0xfe])), MalformedTicketError);
  assert.throws(
    () => encodeTicket({ ...ticket, filename: "x".repeat(300) }, secret),
    MalformedTicketError,
  );
  assert.throws(() => encodeTicket(ticket, new Uint8Array(5)), MalformedTicketError);
});

Deno.test("a session key that is not 32 bytes is a RangeError", () => {
  assert.throws(() => sealTicket(new Uint8Array(5), ticket), RangeError);
});
