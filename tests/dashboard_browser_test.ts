/**
 * The fleet overview in a real browser: Debian's chromium driven by playwright-core, with the
 * flags of issue 14 and a fresh profile. Login with the token, devices appearing and leaving
 * live over SSE, nothing shown before login. A screenshot is kept in `test-artifacts/`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { findCommand, installHint } from "../scripts/tools.ts";
import { TestServer } from "./_helpers/in_process_server.ts";

/** The flags issue 14 asks for: no sandbox (root in CI), no GPU, nothing fetched in the background. */
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const ARTIFACTS = new URL("../test-artifacts/", import.meta.url).pathname;

Deno.test({
  name: "dashboard in chromium: token login, devices come and go live, nothing before login",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const executablePath = findCommand("chromium");
    if (!executablePath) throw new Error(`chromium not found; ${installHint(["chromium"])}`);
    await using server = await TestServer.start({ http: { port: 0 } });
    const http = server.server.http!;
    const base = `http://${http.hostname}:${http.port}`;
    const token = (await server.read("operator-token")).trim();
    const profile = await Deno.makeTempDir({ prefix: "iotnet-chromium-" });
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_FLAGS,
    });
    // The live feed ticks on the server's clock: move it a second every 100 ms of real time.
    const pump = setInterval(() => server.advance(1_000), 100);
    try {
      const page = await context.newPage();
      // Before login: the login page with 401, and no data path answers.
      const first = await page.goto(`${base}/`);
      assert.equal(first!.status(), 401);
      for (const path of ["/metrics", "/api/devices", "/events", "/dashboard.js"]) {
        const answer = await page.request.get(`${base}${path}`);
        assert.equal(answer.status(), 401, path);
      }
      assert.equal((await page.request.get(`${base}/healthz`)).status(), 200);
      // A wrong token is refused, the right one lets the browser in.
      await page.fill("input[name=token]", "wrong");
      await page.click("button[type=submit]");
      await page.waitForSelector("text=That is not the operator token.");
      await page.fill("input[name=token]", token);
      await page.click("button[type=submit]");
      await page.waitForSelector("#status:text('live')", { timeout: 10_000 });
      const cookies = await context.cookies(base);
      const session = cookies.find((c) => c.name === "iotnet_session")!;
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, "Strict");
      assert.equal(await page.evaluate("document.cookie"), "", "no script sees the cookie");

      // Devices that log in appear, live.
      const watch1 = await server.login("watch1");
      await server.login("dev7");
      await page.waitForSelector("tr[data-device='dev7']", { timeout: 10_000 });
      const rows = await page.evaluate(
        `[...document.querySelectorAll("#devices tr")].map((tr) =>
          [...tr.querySelectorAll("td")].map((td) => td.textContent))`,
      ) as string[][];
      assert.deepEqual(rows.map((r) => [r[0], r[2], r[3]]), [
        ["watch1", "127.0.0.1", "9"],
        ["dev7", "127.0.0.1", "9"],
      ]);
      assert.equal(await page.textContent("#online"), "2");
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-overview.png"), fullPage: true });

      // And disappear when they leave.
      await watch1.connection.request("logout", {});
      await page.waitForSelector("tr[data-device='watch1']", {
        state: "detached",
        timeout: 10_000,
      });
      assert.equal(await page.textContent("#online"), "1");
      assert.equal(await page.textContent("#onlineMax"), "2");
    } finally {
      clearInterval(pump);
      await context.close();
      await Deno.remove(profile, { recursive: true });
    }
  },
});
