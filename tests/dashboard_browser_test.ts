/**
 * The fleet overview in a real browser: Debian's chromium driven by playwright-core, with the
 * flags of issue 14 and a fresh profile. Login with the token, devices appearing and leaving
 * live over SSE, nothing shown before login. A screenshot is kept in `test-artifacts/`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { launchChromium, openDashboard } from "./_helpers/chromium.ts";
import { memorySource } from "./_helpers/files.ts";
import { TestServer, type TestServerOptions } from "./_helpers/in_process_server.ts";
import { ACCOUNTS } from "./_helpers/server_process.ts";
import { waitUntil } from "./_helpers/wait.ts";

const ARTIFACTS = new URL("../test-artifacts/", import.meta.url).pathname;

/** What a browser test gets: a server with HTTP, its address and token, a fresh chromium. */
interface BrowserTest {
  server: TestServer;
  base: string;
  token: string;
  context: BrowserContext;
}

/** Runs `fn` with an in-process server serving HTTP and chromium on a fresh profile. */
async function withBrowser(
  options: TestServerOptions,
  fn: (t: BrowserTest) => Promise<void>,
): Promise<void> {
  await using server = await TestServer.start({ ...options, http: { port: 0 } });
  const http = server.server.http!;
  const base = `http://${http.hostname}:${http.port}`;
  const token = (await server.read("operator-token")).trim();
  await using browser = await launchChromium();
  await fn({ server, base, token, context: browser.context });
}

/**
 * Moves the server's clock a second every 100 ms of real time until disposed: the streams
 * (overview, event feed) tick on it.
 */
function pumpClock(server: TestServer): Disposable {
  const pump = setInterval(() => server.advance(1_000), 100);
  return { [Symbol.dispose]: () => clearInterval(pump) };
}

/** The text of each cell of each row of the table body `#id`. */
async function tableText(page: Page, id: string): Promise<string[][]> {
  return await page.evaluate(
    `[...document.querySelectorAll("#${id} tr")].map((tr) =>
      [...tr.querySelectorAll("td")].map((td) => td.textContent))`,
  ) as string[][];
}

/** A page logged in with the token, on the overview. */
function loggedIn({ base, token, context }: BrowserTest): Promise<Page> {
  return openDashboard(context, base, token);
}

Deno.test({
  name: "dashboard in chromium: token login, devices come and go live, nothing before login",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withBrowser({ attempts: 1, blockSeconds: 600 }, async (t) => {
      const { server, base, token, context } = t;
      using _pump = pumpClock(server);
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
      const rows = await tableText(page, "devices");
      assert.deepEqual(rows.map((r) => [r[0], r[2], r[3]]), [
        ["watch1", "127.0.0.1", "9"],
        ["dev7", "127.0.0.1", "9"],
      ]);
      assert.equal(await page.textContent("#online"), "2");
      // An upload, a message for a device that is offline and a name locked out reach the
      // tiles (the store's figures within STORE_FIGURES_MS of the server's clock).
      const bytes = new TextEncoder().encode("1\n2\n-3\n");
      await watch1.connection.upload(4, memorySource(bytes), bytes.length);
      await watch1.connection.request("message", { to: "watch3", text: "later" });
      const stranger = await server.connect();
      await assert.rejects(stranger.connection.request("login", { name: "watch2", password: "x" }));
      await page.waitForSelector("#storedFiles:text-is('1')", { timeout: 10_000 });
      await page.waitForSelector("#offlineMessages:text-is('1')", { timeout: 10_000 });
      await page.waitForSelector("#lockouts:text-is('1')", { timeout: 10_000 });
      const tiles: Record<string, string | null> = {};
      for (
        const id of [
          "accounts",
          "uploadsLastHour",
          "uploadBytesLastHour",
          "storedSamples",
          "storedBytes",
        ]
      ) tiles[id] = await page.textContent(`#${id}`);
      assert.deepEqual(tiles, {
        accounts: String(Object.keys(ACCOUNTS).length),
        uploadsLastHour: "1",
        uploadBytesLastHour: "7",
        storedSamples: "3",
        storedBytes: "7",
      });
      // The next overviews change nothing in the table: its rows stay (a click lands).
      const row = (await page.$("tr[data-device='dev7']"))!;
      const updated = await page.getAttribute("body", "data-updated");
      await waitUntil(
        async () => await page.getAttribute("body", "data-updated") !== updated,
        "another overview",
      );
      assert.equal(await row.evaluate((tr) => tr.isConnected), true);
      // The event loop's worst lag, measured on real time while the page is open.
      assert.match((await page.textContent("#eventLoopLag"))!, /^\d[\d,]*(\.\d)? ms$/);
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

      // Log out: the cookie goes, and the browser is back at the login page.
      await page.click("button:text('Log out')");
      await page.waitForSelector("input[name=token]", { timeout: 10_000 });
      assert.equal((await context.cookies(base)).some((c) => c.name === "iotnet_session"), false);
      assert.equal((await page.request.get(`${base}/api/devices`)).status(), 401);
    }),
});

Deno.test({
  name: "device page in chromium: presence, aggregates, and a plot that keeps a one-sample spike",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withBrowser({}, async (t) => {
      const { server, base } = t;
      // An earlier visit of 90 s that ended with a logout, then the one under way.
      const earlier = await server.login("watch1");
      server.advance(90_000);
      await earlier.connection.request("logout", {});
      await server.waitForLog(/watch1 left/);
      server.advance(5_000);
      using _pump = pumpClock(server);
      // 50,000 small samples, one low spike and one high spike, each a single sample.
      const samples = Array.from({ length: 50_000 }, (_, i) => (i % 13) - 6);
      samples[12_345] = -4_000;
      samples[33_333] = 9_876;
      const bytes = new TextEncoder().encode(samples.join("\n") + "\n");
      const watch1 = await server.login("watch1");
      await watch1.connection.upload(3, memorySource(bytes), bytes.length);
      const sum = samples.reduce((a, b) => a + b, 0);

      const page = await loggedIn(t);
      // The overview links the device to its page.
      await page.click("a[href='/devices/watch1']", { timeout: 10_000 });
      await page.waitForSelector("body[data-loaded='true']", { timeout: 10_000 });
      assert.equal(new URL(page.url()).pathname, "/devices/watch1");
      assert.equal(await page.textContent("#name"), "watch1");
      assert.equal(await page.textContent("#presence"), "online");
      assert.equal(await page.textContent("#ip"), "127.0.0.1");
      assert.equal(await page.textContent("#udpPort"), "9");
      // The presence history: the visit under way, then the earlier one with its length.
      const visits = await tableText(page, "visits");
      assert.equal(visits.length, 2);
      assert.equal(visits[0]![1], "online now");
      assert.deepEqual(visits[0]!.slice(3), ["–", "127.0.0.1"]);
      assert.deepEqual(visits[1]!.slice(2), ["1 min 30 s", "logout", "127.0.0.1"]);
      const api = await (await page.request.get(`${base}/api/devices/watch1`)).json();
      assert.equal(api.visits[1].seconds, 90);
      assert.equal(api.visits[1].reason, "logout");
      const gap = Date.parse(api.visits[0].since) - Date.parse(api.visits[1].until);
      assert.ok(gap >= 5_000, `logged in again ${gap} ms after it left, not 5 s or more`);
      const row = await page.evaluate(
        `[...document.querySelectorAll("#files tr[data-file='3'] td")].map((td) => td.textContent)`,
      ) as string[];
      assert.deepEqual(row.slice(0, 6), [
        "3",
        "50,000",
        String(sum),
        "-4,000",
        "9,876",
        bytes.length.toLocaleString("en"),
      ]);

      // The plotted data holds both spikes, in the buckets they fell in.
      const plotted = await page.evaluate(`(() => {
        const u = document.querySelector("figure[data-file='3']").uplot;
        return { x: u.data[0], min: u.data[1], max: u.data[2] };
      })()`) as { x: number[]; min: number[]; max: number[] };
      assert.ok(plotted.max.length <= 2_048, `${plotted.max.length} buckets`);
      const width = plotted.x[1]! - plotted.x[0]!;
      assert.equal(Math.min(...plotted.min), -4_000);
      assert.equal(plotted.min[Math.floor(12_345 / width)], -4_000);
      assert.equal(Math.max(...plotted.max), 9_876);
      assert.equal(plotted.max[Math.floor(33_333 / width)], 9_876);

      // The y-axis is wide enough for its longest label: the plot area starts right of it.
      const axis = await page.evaluate(`(() => {
        const u = document.querySelector("figure[data-file='3']").uplot;
        const y = u.axes[1];
        u.ctx.font = y.font[0];
        const widest = Math.max(...y._values.map((v) => u.ctx.measureText(String(v)).width));
        return { labels: y._values, labelPx: widest / devicePixelRatio,
          room: u.bbox.left / devicePixelRatio - y.ticks.size - y.gap };
      })()`) as { labels: string[]; labelPx: number; room: number };
      assert.ok(axis.labels.some((l) => l.startsWith("-")), axis.labels.join(" "));
      assert.ok(axis.labelPx <= axis.room, `labels ${axis.labelPx}px, room ${axis.room}px`);

      // Zooming: a drag over the plot narrows the x scale.
      const over = (await page.$("figure[data-file='3'] .u-over"))!;
      // The mouse acts in the viewport: the plot is below the tables.
      await over.scrollIntoViewIfNeeded();
      const box = (await over.boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2, { steps: 5 });
      await page.mouse.up();
      const range = await page.evaluate(`(() => {
        const s = document.querySelector("figure[data-file='3']").uplot.scales.x;
        return s.max - s.min;
      })()`) as number;
      assert.ok(range < 50_000 * 0.5, `x range after zoom ${range}`);
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-device.png"), fullPage: true });

      // No device can send free text to this page (names are restricted, the rest are numbers);
      // the name in the path is the one text that reaches it from outside: shown as text.
      await page.goto(`${base}/devices/${encodeURIComponent("<img src=x id=injected>")}`);
      await page.waitForSelector("#status:has-text('device name may hold only')", {
        timeout: 10_000,
      });
      assert.equal(await page.textContent("#name"), "<img src=x id=injected>");
      assert.equal(await page.$("#injected"), null);
    }),
});

Deno.test({
  name: "security page in chromium: a lockout with its time left, failed names, refusals by reason",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withBrowser({ blockSeconds: 120 }, async (t) => {
      const { server, base } = t;
      // Three wrong passwords block watch2 (attempts 3); one leaves ghost with a failure.
      const edge = await server.connect();
      for (const name of ["watch2", "watch2", "watch2", "ghost"]) {
        await assert.rejects(edge.connection.request("login", { name, password: "wrong" }));
      }
      const page = await loggedIn(t);
      await page.click("a[href='/security']", { timeout: 10_000 });
      await page.waitForSelector("#lockouts tr[data-key='watch2']", { timeout: 10_000 });
      const table = (id: string) => tableText(page, id);
      const lockouts = await table("lockouts");
      assert.equal(lockouts.length, 1);
      assert.equal(lockouts[0]![0], "watch2");
      assert.equal(lockouts[0]![2], "2 min 0 s");
      assert.deepEqual((await table("failedLogins")).map((r) => [r[0], r[1]]), [["ghost", "1"]]);
      assert.deepEqual(await table("refusals"), [
        ["max connections", "0"],
        ["max pending logins", "0"],
        ["max pending per address", "0"],
      ]);
      const logins = Object.fromEntries((await table("logins")).map((r) => [r[0], r[1]]));
      assert.deepEqual(logins, { "bad credentials": "3", "blocked": "1" });
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-security.png"), fullPage: true });
      assert.equal((await page.request.get(`${base}/api/security`)).status(), 200);
      const anonymous = await fetch(`${base}/api/security`);
      await anonymous.body?.cancel();
      assert.equal(anonymous.status, 401);
    }),
});

Deno.test({
  name: "event feed in chromium: a login and a failed login appear live, a stranger's name as text",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withBrowser({}, async (t) => {
      const { server, base } = t;
      using _pump = pumpClock(server);
      const page = await loggedIn(t);
      await page.click("nav a[href='/feed']", { timeout: 10_000 });
      await page.waitForSelector("#status:text('live')", { timeout: 10_000 });
      assert.equal(new URL(page.url()).pathname, "/feed");

      await server.login("watch1");
      const stranger = await server.connect();
      const name = "<img src=x id=injected>";
      await assert.rejects(stranger.connection.request("login", { name, password: "x" }));
      await page.waitForSelector("#events tr[data-kind='login_failed']", { timeout: 10_000 });
      await page.waitForSelector("#events tr[data-kind='login']", { timeout: 10_000 });
      const rows = await tableText(page, "events");
      // The newest on top.
      assert.deepEqual(rows.map((r) => [r[1], r[2]]), [
        [
          "login failed",
          'failed login as "<img src=x id=injected>" from 127.0.0.1 (bad_credentials)',
        ],
        ["login", "watch1 joined from 127.0.0.1, UDP port 9"],
      ]);
      assert.equal(await page.$("#injected"), null, "the name is text, not markup");
      assert.equal(await page.$("#events img"), null);

      // The filter shows one kind.
      await page.selectOption("#kind", "login");
      const shown = await page.evaluate(
        `[...document.querySelectorAll("#events tr")].filter((tr) => !tr.hidden)
          .map((tr) => tr.dataset.kind)`,
      ) as string[];
      assert.deepEqual(shown, ["login"]);
      assert.equal(await page.textContent("#shown"), "1 of 2 shown");
      await page.selectOption("#kind", "");
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-feed.png"), fullPage: true });

      // A page opened later gets what happened as its backlog.
      const later = await t.context.newPage();
      await later.goto(`${base}/feed`);
      await later.waitForSelector("#events tr[data-kind='login']", { timeout: 10_000 });
      assert.equal(await later.locator("#events tr").count(), 2);
    }),
});

Deno.test({
  name: "devices page in chromium: the server pages and searches, names link to device pages",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withBrowser({}, async (t) => {
      const { server, base } = t;
      const names = ["dev1", "dev2", "dev3", "watch1", "watch2"];
      const dev1 = await server.login("dev1");
      for (const name of names.slice(1)) await server.login(name);
      const bytes = new TextEncoder().encode("1\n-2\n3\n");
      // The server's clock stands still: the upload is stored at this time.
      const uploadedAt = server.clock.now();
      await dev1.connection.upload(4, memorySource(bytes), bytes.length);

      const page = await loggedIn(t);
      await page.click("nav a[href='/devices']", { timeout: 10_000 });
      await page.waitForSelector("#shown:text-is('1–5 of 5')", { timeout: 10_000 });
      assert.deepEqual((await tableText(page, "devices")).map((r) => r[0]), names);
      // Two a page (the page keeps its place in its address): next, next, previous.
      await page.goto(`${base}/devices?limit=2`);
      const shows = async (shown: string, rows: string[]) => {
        await page.waitForSelector(`#shown:text-is('${shown}')`, { timeout: 10_000 });
        assert.deepEqual((await tableText(page, "devices")).map((r) => r[0]), rows, shown);
      };
      await shows("1–2 of 5", ["dev1", "dev2"]);
      assert.equal(await page.isDisabled("#previous"), true);
      await page.click("#next");
      await shows("3–4 of 5", ["dev3", "watch1"]);
      assert.match(page.url(), /\/devices\?offset=2&limit=2$/);
      await page.click("#next");
      await shows("5–5 of 5", ["watch2"]);
      assert.equal(await page.isDisabled("#next"), true);
      await page.click("#previous");
      await shows("3–4 of 5", ["dev3", "watch1"]);
      // A search goes to the server (once typing stops) and starts from the first page.
      await page.fill("#search", "DEV");
      await shows("1–2 of 3", ["dev1", "dev2"]);
      assert.equal(await page.getAttribute("body", "data-query"), "offset=0&limit=2&q=DEV");
      await page.click("#next");
      await shows("3–3 of 3", ["dev3"]);
      await page.fill("#search", "nobody");
      await page.waitForSelector("#shown:text-is('no device online matches')", { timeout: 10_000 });
      assert.deepEqual(await tableText(page, "devices"), []);
      await page.fill("#search", "dev1");
      await shows("1–1 of 1", ["dev1"]);
      // What the store knows of it: one file, its upload, no message waiting, no lockout.
      const [row] = await tableText(page, "devices");
      assert.deepEqual([row![2], row![3], row![4], row![6], row![7]], [
        "127.0.0.1",
        "9",
        "1",
        "0",
        "–",
      ]);
      const api = await (await page.request.get(`${base}/api/devices?q=dev1`)).json();
      assert.equal(api.devices[0].files, 1);
      assert.equal(api.devices[0].lockedUntil, null);
      assert.equal(api.devices[0].lastUpload, new Date(uploadedAt).toISOString());
      assert.equal(
        row![5],
        await page.evaluate(
          `new Date(${JSON.stringify(api.devices[0].lastUpload)}).toLocaleString()`,
        ),
      );
      // The name is text in a link to its page.
      assert.equal(
        await page.innerHTML("#devices tr[data-device='dev1'] td:first-child"),
        '<a href="/devices/dev1">dev1</a>',
      );
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-devices.png"), fullPage: true });
      await page.click("a[href='/devices/dev1']");
      await page.waitForSelector("body[data-loaded='true']", { timeout: 10_000 });
      assert.equal(await page.textContent("#name"), "dev1");
    }),
});
