import assert from "node:assert/strict";
import { CongestionController, Pacer } from "./congestion.ts";

const opts = { initialCwnd: 10, minCwnd: 2, maxCwnd: 100, beta: 0.5 };

Deno.test("slow start grows cwnd by one per acked packet", () => {
  const cc = new CongestionController(opts);
  cc.onAck(5, 5);
  assert.equal(cc.cwnd, 15);
});

Deno.test("congestion avoidance grows about one packet per window", () => {
  const cc = new CongestionController(opts);
  cc.onLoss(0, 10); // cwnd 5, ssthresh 5, recovery until seq 10
  cc.onAck(5, 10);
  assert.equal(cc.cwnd, 6);
  for (let i = 0; i < 6; i++) cc.onAck(1, 20 + i);
  assert.ok(cc.cwnd > 6.9 && cc.cwnd < 7.1);
});

Deno.test("losses in one episode decrease once; a later episode decreases again", () => {
  const cc = new CongestionController(opts);
  assert.equal(cc.onLoss(3, 20), true);
  assert.equal(cc.cwnd, 5);
  assert.equal(cc.onLoss(7, 22), false);
  assert.equal(cc.cwnd, 5);
  assert.equal(cc.onLoss(21, 40), true);
  assert.equal(cc.cwnd, 2.5);
  cc.onLoss(45, 50);
  assert.equal(cc.cwnd, 2); // floor
});

Deno.test("cwnd does not grow during recovery", () => {
  const cc = new CongestionController(opts);
  cc.onLoss(3, 20);
  cc.onAck(4, 10);
  assert.equal(cc.cwnd, 5);
});

Deno.test("RTO collapses cwnd to the floor", () => {
  const cc = new CongestionController(opts);
  cc.onAck(30, 30);
  cc.onRto(40);
  assert.equal(cc.cwnd, 2);
  assert.equal(cc.ssthresh, 20);
});

Deno.test("cwnd never exceeds maxCwnd", () => {
  const cc = new CongestionController(opts);
  cc.onAck(1000, 1000);
  assert.equal(cc.cwnd, 100);
});

Deno.test("pacer releases a burst then spaces packets at the rate", () => {
  const p = new Pacer(4, 2);
  p.setRate(10, 10, 1); // 1 packet per ms, burst max(4, 2) = 4
  let sent = 0;
  while (p.canSend(0)) {
    p.onSend();
    sent++;
  }
  assert.equal(sent, 4);
  assert.equal(p.nextSendTime(0), 1);
  assert.equal(p.canSend(1), true);
});

Deno.test("pacer is unpaced before an RTT sample", () => {
  const p = new Pacer(4);
  p.setRate(10, undefined, 1);
  for (let i = 0; i < 4; i++) p.onSend();
  assert.equal(p.canSend(0), true); // refills to the (infinite-rate) burst immediately
});

Deno.test("pacer tells how many packets may leave at once (for batched sends)", () => {
  const p = new Pacer(4, 2);
  p.setRate(10, 10, 1); // 1 packet per ms, burst 4
  assert.equal(p.available(0), 4);
  p.onSend();
  p.onSend();
  p.onSend();
  assert.equal(p.available(0), 1);
  p.setRate(10, undefined, 1);
  assert.equal(p.available(0), Infinity);
});
