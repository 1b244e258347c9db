import assert from "node:assert/strict";
import { MAX_SECURITY_ROWS, securityView } from "./security_view.ts";
import { ServerMetrics } from "./server_metrics.ts";

Deno.test("security view: lockouts with time left, failed names, counters by reason", async () => {
  const metrics = new ServerMetrics();
  metrics.logins.inc({ result: "ok" });
  metrics.logins.inc({ result: "bad_credentials" }, 4);
  metrics.refusals.inc({ reason: "max_pending_per_address" }, 2);
  metrics.logouts.inc({ reason: "idle" });
  const asked: number[] = [];
  const view = await securityView({
    lockouts: {
      current: (now, limit) => {
        asked.push(now, limit);
        return Promise.resolve([{ device: "watch2", until: 61_500 }]);
      },
    },
    failedLogins: (limit) => {
      asked.push(limit);
      return Promise.resolve([{ name: "ghost", failures: 2, at: 1_000 }]);
    },
    metrics,
  }, 1_000);
  assert.deepEqual(asked, [1_000, MAX_SECURITY_ROWS + 1, MAX_SECURITY_ROWS]);
  assert.deepEqual(view, {
    lockouts: [{ name: "watch2", until: "1970-01-01T00:01:01.500Z", secondsLeft: 61 }],
    lockoutsMore: false,
    failedLogins: [{ name: "ghost", failures: 2, at: "1970-01-01T00:00:01.000Z" }],
    logins: { ok: 1, bad_credentials: 4 },
    refusals: { max_connections: 0, max_pending_logins: 0, max_pending_per_address: 2 },
    logouts: { idle: 1 },
  });
});

Deno.test("security view: the lockout list is bounded", async () => {
  const many = Array.from({ length: MAX_SECURITY_ROWS + 1 }, (_, i) => ({
    device: `d${i}`,
    until: 10_000,
  }));
  const view = await securityView({
    lockouts: { current: (_now, limit) => Promise.resolve(many.slice(0, limit)) },
    failedLogins: () => Promise.resolve([]),
    metrics: new ServerMetrics(),
  }, 0);
  assert.equal(view.lockouts.length, MAX_SECURITY_ROWS);
  assert.equal(view.lockoutsMore, true);
});

Deno.test("security view: with --proxy-protocol the refusals for PROXY headers are shown too", async () => {
  const metrics = new ServerMetrics({ proxyProtocol: true });
  metrics.refusals.inc({ reason: "proxy_header_missing" }, 3);
  const view = await securityView({
    lockouts: { current: () => Promise.resolve([]) },
    failedLogins: () => Promise.resolve([]),
    metrics,
  }, 0);
  assert.deepEqual(view.refusals, {
    max_connections: 0,
    max_pending_logins: 0,
    max_pending_per_address: 0,
    proxy_header_missing: 3,
    proxy_header_invalid: 0,
    proxy_header_timeout: 0,
  });
});
