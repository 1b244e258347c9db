import assert from "node:assert/strict";
import {
  Admission,
  type AdmissionRefusal,
  type AdmissionSlot,
  type UnaddressedSlot,
} from "./admission.ts";

function slot(result: AdmissionSlot | AdmissionRefusal): AdmissionSlot {
  assert.ok("release" in result, "message" in result ? result.message : "");
  return result;
}

/** What a refused admission says: its reason code and sentence. */
function refusal(result: AdmissionSlot | UnaddressedSlot | AdmissionRefusal): string {
  assert.ok("reason" in result, "admitted, not refused");
  return `${result.reason}: ${result.message}`;
}

Deno.test("Admission: one address may keep at most its share waiting to log in; others still get in", () => {
  const admission = new Admission({
    maxConnections: 100,
    maxPendingLogins: 100,
    maxPendingLoginsPerAddress: 2,
  });
  const [a, b] = [slot(admission.admit("10.0.0.1")), slot(admission.admit("10.0.0.1"))];
  assert.equal(
    refusal(admission.admit("10.0.0.1")),
    "max_pending_per_address: 2 connections from 10.0.0.1 are already waiting to log in",
  );
  slot(admission.admit("10.0.0.2"));
  // A connection that logged in no longer counts as waiting; one that closed frees its place.
  a.loggedIn();
  const c = slot(admission.admit("10.0.0.1"));
  b.release();
  slot(admission.admit("10.0.0.1"));
  assert.deepEqual([admission.connections, admission.pending], [4, 3]);
  c.release();
  c.release(); // twice is harmless
  a.release();
  assert.deepEqual([admission.connections, admission.pending], [2, 2]);
});

Deno.test("Admission: the caps on all connections and on all waiting to log in come first", () => {
  const admission = new Admission({
    maxConnections: 3,
    maxPendingLogins: 2,
    maxPendingLoginsPerAddress: 10,
  });
  const a = slot(admission.admit("10.0.0.1"));
  slot(admission.admit("10.0.0.2"));
  assert.equal(
    refusal(admission.admit("10.0.0.3")),
    "max_pending_logins: 2 connections are already waiting to log in",
  );
  a.loggedIn();
  a.loggedIn(); // twice is harmless
  slot(admission.admit("10.0.0.3"));
  assert.equal(
    refusal(admission.admit("10.0.0.4")),
    "max_connections: the server holds its maximum of 3 connections",
  );
  a.release();
  assert.equal(admission.pending, 2);
  assert.equal(
    refusal(admission.admit("10.0.0.4")),
    "max_pending_logins: 2 connections are already waiting to log in",
  );
});

Deno.test("Admission: a connection whose address comes later counts in all at once, per address once known", () => {
  const admission = new Admission({
    maxConnections: 10,
    maxPendingLogins: 3,
    maxPendingLoginsPerAddress: 1,
  });
  // Waiting for their PROXY headers: counted in all, against no address.
  const [a, b, c] = [1, 2, 3].map(() => {
    const waiting = admission.admitUnaddressed();
    assert.ok("address" in waiting);
    return waiting;
  }) as [UnaddressedSlot, UnaddressedSlot, UnaddressedSlot];
  assert.deepEqual([admission.connections, admission.pending], [3, 3]);
  assert.equal(
    refusal(admission.admitUnaddressed()),
    "max_pending_logins: 3 connections are already waiting to log in",
  );
  const fromA = slot(a.address("203.0.113.7"));
  assert.equal(fromA.ip, "203.0.113.7");
  assert.throws(() => a.address("203.0.113.8"), /already addressed/);
  // The second from the same address is refused by its address's cap, and its place freed.
  assert.equal(
    refusal(b.address("203.0.113.7")),
    "max_pending_per_address: 1 connections from 203.0.113.7 are already waiting to log in",
  );
  assert.deepEqual([admission.connections, admission.pending], [2, 2]);
  b.release(); // harmless after a refusal
  c.release();
  c.release();
  assert.deepEqual([admission.connections, admission.pending], [1, 1]);
  fromA.loggedIn();
  slot(admission.admit("203.0.113.7"));
  fromA.release();
  assert.deepEqual([admission.connections, admission.pending], [1, 1]);
});
