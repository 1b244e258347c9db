import assert from "node:assert/strict";
import { RttEstimator } from "./rtt.ts";

const opts = { initialRtoMs: 1000, minRtoMs: 1, maxRtoMs: 60_000, clockGranularityMs: 1 };

Deno.test("RTO before any sample is the initial RTO", () => {
  const e = new RttEstimator(opts);
  assert.equal(e.rto, 1000);
  assert.equal(e.srtt, undefined);
});

Deno.test("first sample sets SRTT=R, RTTVAR=R/2, RTO=SRTT+max(G,4·RTTVAR)", () => {
  const e = new RttEstimator(opts);
  e.sample(100);
  assert.equal(e.srtt, 100);
  assert.equal(e.rttvar, 50);
  assert.equal(e.rto, 300);
});

Deno.test("subsequent samples follow RFC 6298 §2.3 exactly on a fixed sequence", () => {
  const e = new RttEstimator(opts);
  const samples = [100, 200, 50, 50, 400, 120];
  let srtt = 0;
  let rttvar = 0;
  samples.forEach((r, i) => {
    if (i === 0) {
      srtt = r;
      rttvar = r / 2;
    } else {
      rttvar = 0.75 * rttvar + 0.25 * Math.abs(srtt - r);
      srtt = 0.875 * srtt + 0.125 * r;
    }
    e.sample(r);
    assert.equal(e.srtt, srtt);
    assert.equal(e.rttvar, rttvar);
    assert.equal(e.rto, srtt + Math.max(1, 4 * rttvar));
  });
  // Hand-worked values for the second sample: RTTVAR = .75·50 + .25·|100−200| = 62.5,
  // SRTT = .875·100 + .125·200 = 112.5, RTO = 112.5 + 250 = 362.5.
  const f = new RttEstimator(opts);
  f.sample(100);
  f.sample(200);
  assert.equal(f.rttvar, 62.5);
  assert.equal(f.srtt, 112.5);
  assert.equal(f.rto, 362.5);
});

Deno.test("clock granularity G applies when RTTVAR is tiny", () => {
  const e = new RttEstimator({ ...opts, clockGranularityMs: 10 });
  e.sample(4);
  for (let i = 0; i < 50; i++) e.sample(4);
  assert.equal(e.rto, 4 + 10);
});

Deno.test("minimum and maximum RTO bound the result", () => {
  const e = new RttEstimator({ ...opts, minRtoMs: 200, maxRtoMs: 1000 });
  e.sample(10);
  assert.equal(e.rto, 200);
  e.sample(5000);
  assert.equal(e.rto, 1000);
});

Deno.test("back-off doubles the RTO up to the maximum and a new sample resets it", () => {
  const e = new RttEstimator({ ...opts, minRtoMs: 200, maxRtoMs: 1000 });
  e.sample(50); // RTO = max(200, 50 + 100) = 200
  assert.equal(e.rto, 200);
  e.backOff();
  assert.equal(e.rto, 400);
  e.backOff();
  assert.equal(e.rto, 800);
  e.backOff();
  assert.equal(e.rto, 1000);
  e.sample(50);
  assert.ok(e.rto < 1000);
});
