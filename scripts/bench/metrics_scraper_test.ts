import assert from "node:assert/strict";
import { within } from "../../tests/_helpers/wait.ts";
import { MetricsScraper } from "./metrics_scraper.ts";

/** A `/metrics` stand-in that wants token `t` and resolves `seen` at its `n`th answer. */
function fakeMetrics(n: number) {
  const { promise: seen, resolve } = Promise.withResolvers<void>();
  let answered = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    if (request.headers.get("authorization") !== "Bearer t") {
      return new Response("no\n", { status: 401 });
    }
    if (++answered === n) resolve();
    return new Response("iotnet_devices_online 3\n");
  });
  return { url: `http://127.0.0.1:${server.addr.port}/metrics`, seen, server };
}

Deno.test("the metrics scraper scrapes on its period with the token and times each scrape", async () => {
  const { url, seen, server } = fakeMetrics(4);
  try {
    const scraper = await MetricsScraper.start(url, "t", 30);
    await within(seen, "four scrapes", 10_000);
    const scrapes = await scraper.stop();
    assert.ok(scrapes.length >= 4, `${scrapes.length} scrapes`);
    for (const scrape of scrapes) {
      assert.equal(scrape.status, 200);
      assert.equal(scrape.bytes, "iotnet_devices_online 3\n".length);
      assert.ok(scrape.ms >= 0 && scrape.ms < 10_000, String(scrape.ms));
    }
    // A fixed schedule: the k-th scrape starts no earlier than k periods after the first.
    scrapes.forEach((scrape, k) => assert.ok(scrape.atMs >= k * 30 - 1, `${k}: ${scrape.atMs}`));
  } finally {
    await server.shutdown();
  }
});

Deno.test("the metrics scraper refuses to start when its first scrape is not answered 200", async () => {
  const { url, server } = fakeMetrics(1);
  try {
    await assert.rejects(MetricsScraper.start(url, "wrong", 30), /first scrape .* status 401/);
  } finally {
    await server.shutdown();
  }
});
