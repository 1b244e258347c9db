/**
 * The operator's HTTP listener (SPEC §8): `/healthz` and `/readyz` for anyone, and behind
 * the operator token `/metrics`, `/api/devices` (paged and searched, `devices_api.ts`), the
 * fleet overview page `/` with its script and style, and its live feed `/events`
 * (`live_feed.ts`, one overview a second for all its clients), the devices page `/devices`
 * (`devices_page.ts`, over `/api/devices`), the device page
 * `/devices/<name>` with `/api/devices/<name>` (`device_api.ts`) and the files' plot
 * summaries, the security page `/security` with `/api/security` (`security_view.ts`), and
 * the event feed page `/feed` with its stream `/feed/events` (`event_feed.ts`). It reads
 * what the device path keeps (plain counters, the registry of active devices, the ring of
 * events) and never makes the device path wait: `/metrics` renders at most once a second
 * and hands out that text until it is a second old, the streams read once a second. It
 * runs the event loop's lag probe (`event_loop_lag.ts`) while it serves. This is the only
 * file that calls `Deno.serve`.
 *
 * TLS: given `tls` (the server's certificate and key, when the server runs with TLS) it
 * serves HTTPS; a non-loopback address needs it, or `insecure`.
 *
 * @module
 */

import type { Clock } from "../../internal/mod.ts";
import type { DeviceRegistry } from "../device_registry.ts";
import type { Disk } from "../disk.ts";
import type { ServerEvent } from "../server_event.ts";
import type { FileRecords, Lockouts, Mailbox, PresenceHistory } from "../store/interfaces.ts";
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from "./dashboard_assets.ts";
import { deviceDetail } from "./device_api.ts";
import { DEVICE_HTML, DEVICE_JS } from "./device_page.ts";
import { pageDevices, parseDeviceQuery, withStoredFacts } from "./devices_api.ts";
import { DEVICES_HTML, DEVICES_JS } from "./devices_page.ts";
import { SECURITY_HTML, SECURITY_JS } from "./security_page.ts";
import { securityView } from "./security_view.ts";
import { LiveFeed, MAX_LIVE_CLIENTS } from "./live_feed.ts";
import { EventFeed, MAX_FEED_CLIENTS } from "./event_feed.ts";
import { EventLoopLag } from "./event_loop_lag.ts";
import type { EventRing } from "./event_ring.ts";
import { FEED_HTML, FEED_JS } from "./feed_page.ts";
import { loginPage } from "./login_page.ts";
import { fleetOverview } from "./overview.ts";
import { OperatorAuth } from "./operator_auth.ts";
import { loadOperatorToken } from "./operator_token.ts";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheusText } from "./prometheus_text.ts";
import { metricFamilies, type ServerMetrics } from "./server_metrics.ts";
import { readStoreFigures, StoreFiguresCache } from "./store_figures.ts";
import { UPLOT_CSS, UPLOT_JS } from "./uplot_assets.ts";

/** Longest a rendered `/metrics` is served again before it is rendered anew, in ms. */
export const METRICS_SNAPSHOT_MS = 1_000;

/** The largest body `POST /login` reads; a bigger one is refused unread. */
export const MAX_LOGIN_BODY_BYTES = 4_096;

/** `/api/files/<device>/<id>/plot`. */
const PLOT_PATH = /^\/api\/files\/([^/]{1,256})\/(\d{1,9})\/plot$/;
/** `/api/devices/<name>`. */
const DEVICE_API_PATH = /^\/api\/devices\/([^/]{1,256})$/;
/** `/devices/<name>`. */
const DEVICE_PAGE_PATH = /^\/devices\/[^/]{1,256}$/;

const HTML = "text/html; charset=utf-8";
const SCRIPT = "text/javascript; charset=utf-8";
const STYLE = "text/css; charset=utf-8";

/** The pages, their scripts and styles (text in the module graph), by path. */
const STATIC_FILES: ReadonlyMap<string, { body: string; type: string }> = new Map([
  ["/", { body: DASHBOARD_HTML, type: HTML }],
  ["/dashboard.js", { body: DASHBOARD_JS, type: SCRIPT }],
  ["/dashboard.css", { body: DASHBOARD_CSS, type: STYLE }],
  ["/feed", { body: FEED_HTML, type: HTML }],
  ["/feed.js", { body: FEED_JS, type: SCRIPT }],
  ["/devices", { body: DEVICES_HTML, type: HTML }],
  ["/devices.js", { body: DEVICES_JS, type: SCRIPT }],
  ["/security", { body: SECURITY_HTML, type: HTML }],
  ["/security.js", { body: SECURITY_JS, type: SCRIPT }],
  ["/device.js", { body: DEVICE_JS, type: SCRIPT }],
  ["/uplot.js", { body: UPLOT_JS, type: SCRIPT }],
  ["/uplot.css", { body: UPLOT_CSS, type: STYLE }],
]);

/** The security headers of every response. */
const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'self'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
} as const;

/** `--http` and its company. */
export interface OperatorHttpOptions {
  /** Port; 0 picks a free one. */
  port: number;
  /** Address; default `127.0.0.1`. */
  hostname?: string;
  /** Serve plain HTTP on a non-loopback address. */
  insecure?: boolean;
  /** Certificate and key (PEM) to serve HTTPS with: the server's own, when it has TLS. */
  tls?: { cert: string; key: string };
}

/** What the listener reads from its server. */
export interface OperatorHttpContext {
  dataDir: string;
  metrics: ServerMetrics;
  active: DeviceRegistry;
  /** Stored files' records and plot summaries. */
  files: FileRecords;
  /** When each device was last online, and its visits (the device page). */
  presence: PresenceHistory;
  /** Running lockouts (the security page, the overview, the devices page). */
  lockouts: Lockouts;
  /** Offline messages (the overview counts those waiting, the devices page each device's). */
  mailbox: Mailbox;
  /** How many accounts there are (the overview). */
  accounts(): Promise<number>;
  /** Where the server records its events (the event feed). */
  events: EventRing<ServerEvent>;
  /** Names whose last logins failed, most recent first (`Authenticator.recentFailures`). */
  failedLogins(limit: number): Promise<{ name: string; failures: number; at: number }[]>;
  disk: Disk;
  clock: Clock;
  /** Device connections held now. */
  connections(): number;
  /** Why the server is not ready, or `undefined` when it is. */
  notReady(): string | undefined;
  log(line: string): void;
  version: string;
}

/** A running operator listener. */
export interface OperatorHttp {
  readonly hostname: string;
  readonly port: number;
  /** Whether it speaks HTTPS. */
  readonly secure: boolean;
  close(): Promise<void>;
}

/**
 * Whether `hostname` is a loopback address (only the machine itself can reach it).
 *
 * @example
 * ```ts
 * import { isLoopback } from "./operator_http.ts";
 * import assert from "node:assert/strict";
 * assert.ok(isLoopback("127.0.0.1") && isLoopback("::1") && isLoopback("localhost"));
 * assert.ok(!isLoopback("0.0.0.0"));
 * ```
 */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/**
 * Starts the listener; logs the token file's path (never its content) when it is made.
 *
 * @throws {RangeError} for a non-loopback address without TLS or `insecure`.
 * @throws the runtime's error when the address cannot be listened on or the token file
 *   cannot be read or made.
 */
export async function startOperatorHttp(
  options: OperatorHttpOptions,
  ctx: OperatorHttpContext,
): Promise<OperatorHttp> {
  const hostname = options.hostname ?? "127.0.0.1";
  if (!isLoopback(hostname) && !options.tls && !options.insecure) {
    throw new RangeError(
      `--http-host ${hostname} is not a loopback address: serve it over TLS, or pass --insecure ` +
        "to send the operator token in clear",
    );
  }
  const { path, token, created } = await loadOperatorToken(ctx.dataDir);
  ctx.log(`operator token ${created ? "created in" : "read from"} ${path} (mode 0600)`);
  const auth = await OperatorAuth.create(token);
  const secure = options.tls !== undefined;
  const started = ctx.clock.now();
  let snapshot: { text: string; at: number } | undefined;
  // On real time, whatever clock the server runs on (event_loop_lag.ts says why).
  const lag = new EventLoopLag(ctx.metrics.eventLoopLag);
  const storeFigures = new StoreFiguresCache(
    ctx.clock,
    (now) => readStoreFigures(ctx, now),
    (message) => ctx.log(`operator HTTP: cannot read the store's figures: ${message}`),
  );
  // Read at once, so the first overview most likely has them.
  storeFigures.latest();
  const feed = new LiveFeed(
    ctx.clock,
    () =>
      fleetOverview({
        metrics: ctx.metrics,
        devices: () => ctx.active.list(),
        eventLoopLagMs: () => lag.worstMs(),
        storeFigures: () => storeFigures.latest(),
        now: ctx.clock.now(),
      }),
  );
  const eventFeed = new EventFeed(ctx.clock, ctx.events);

  async function metricsText(): Promise<string> {
    if (snapshot && ctx.clock.now() - snapshot.at < METRICS_SNAPSHOT_MS) return snapshot.text;
    const stored = await storeFigures.current();
    const now = ctx.clock.now();
    if (snapshot && now - snapshot.at < METRICS_SNAPSHOT_MS) return snapshot.text;
    const text = renderPrometheusText(metricFamilies(ctx.metrics, {
      stored,
      devicesOnline: ctx.active.count,
      connectionsOpen: ctx.connections(),
      diskOperationsWaiting: ctx.disk.waiting,
      residentMemoryBytes: Deno.memoryUsage().rss,
      startTimeSeconds: Math.floor(started / 1000),
      version: ctx.version,
    }));
    snapshot = { text, at: now };
    return text;
  }

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const post = request.method === "POST" &&
      (url.pathname === "/login" || url.pathname === "/logout");
    if (request.method !== "GET" && !post) {
      return text(405, "only GET (and POST /login, /logout) are served\n");
    }
    switch (url.pathname) {
      case "/healthz":
        return text(200, "ok\n");
      case "/readyz": {
        const reason = ctx.notReady();
        return reason === undefined ? text(200, "ready\n") : text(503, `not ready: ${reason}\n`);
      }
      case "/login":
        if (request.method === "POST") return await login(request);
        break;
      case "/logout":
        // Only the browser's cookie goes: the token stays valid (the server keeps no sessions).
        if (request.method === "POST") return redirect("/", auth.clearCookie(secure));
    }
    if (!auth.allows(request)) {
      if (wantsHtml(request)) {
        return html(401, loginPage("Give the operator token to see the dashboard."));
      }
      return text(
        401,
        "give the operator token: `Authorization: Bearer <token>` " +
          "(the token is in the data directory's operator-token file)\n",
        { "www-authenticate": 'Bearer realm="iotnet"' },
      );
    }
    const file = STATIC_FILES.get(url.pathname);
    if (file) return text(200, file.body, { "content-type": file.type });
    switch (url.pathname) {
      case "/feed/events":
        return sse(
          eventFeed.open(),
          `${MAX_FEED_CLIENTS} event feeds are open, the most allowed; close one\n`,
        );
      case "/api/security":
        return json(await securityView(ctx, ctx.clock.now()));
      case "/events":
        return sse(
          feed.open(),
          `${MAX_LIVE_CLIENTS} live views are open, the most allowed; close one\n`,
        );
      case "/metrics":
        return text(200, await metricsText(), { "content-type": PROMETHEUS_CONTENT_TYPE });
      case "/api/devices": {
        const query = parseDeviceQuery(url.searchParams);
        if (typeof query === "string") return json({ error: query }, 400);
        return json(
          await withStoredFacts(pageDevices(ctx.active.list(), query), {
            files: ctx.files,
            mailbox: ctx.mailbox,
            lockouts: ctx.lockouts,
            now: ctx.clock.now(),
          }),
        );
      }
    }
    if (DEVICE_PAGE_PATH.test(url.pathname)) return html(200, DEVICE_HTML);
    const devicePath = DEVICE_API_PATH.exec(url.pathname);
    if (devicePath) {
      const name = decodePathPart(devicePath[1]!);
      if (name === undefined) {
        return json({ error: "the device name is not valid URL encoding" }, 400);
      }
      const detail = await deviceDetail(name, {
        online: (device) => ctx.active.get(device),
        files: ctx.files,
        presence: ctx.presence,
        now: ctx.clock.now(),
      });
      if (typeof detail === "string") return json({ error: detail }, 400);
      if (!detail.online && detail.lastSeen === null && detail.files.length === 0) {
        return json({ error: `no device named ${name} has been online or stored a file` }, 404);
      }
      return json(detail);
    }
    const plotPath = PLOT_PATH.exec(url.pathname);
    if (plotPath) {
      const device = decodePathPart(plotPath[1]!);
      if (device === undefined) return text(400, "the device name is not valid URL encoding\n");
      const fileID = Number(plotPath[2]);
      const plot = await ctx.files.plot(device, fileID);
      return plot ? json(plot) : text(404, `no plot summary for ${device}'s file ${fileID}\n`);
    }
    return text(404, `no such page: ${url.pathname}\n`);
  }

  async function login(request: Request): Promise<Response> {
    const given = await formField(request, "token");
    if (given === undefined || !auth.isToken(given.trim())) {
      if (wantsHtml(request)) return html(401, loginPage("That is not the operator token."));
      return text(401, "wrong operator token\n");
    }
    return redirect("/", auth.setCookie(secure));
  }

  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname,
    port: options.port,
    ...options.tls,
    onListen: (addr) => resolve(addr as Deno.NetAddr),
    onError: (error) => {
      ctx.log(`operator HTTP: ${error instanceof Error ? error.message : String(error)}`);
      return text(500, "the server failed to answer; see its log\n");
    },
  }, handle);
  const addr = await listening;
  lag.start();
  return {
    hostname: addr.hostname,
    port: addr.port,
    secure,
    // The live streams never end by themselves: end them, or shutdown waits for them.
    close: () => {
      feed.close();
      eventFeed.close();
      lag.stop();
      return server.shutdown();
    },
  };
}

/**
 * Field `name` of a form-encoded body, read as it streams in and given up past
 * {@linkcode MAX_LOGIN_BODY_BYTES}: a stranger cannot make the server hold a large body.
 */
async function formField(request: Request, name: string): Promise<string | undefined> {
  if (!request.body) return undefined;
  const reader = request.body.getReader();
  const decoder = new TextDecoder();
  let body = "";
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_LOGIN_BODY_BYTES) {
      await reader.cancel();
      return undefined;
    }
    body += decoder.decode(value, { stream: true });
  }
  return new URLSearchParams(body + decoder.decode()).get(name) ?? undefined;
}

/** A percent-encoded path segment, or `undefined` when its encoding is broken. */
function decodePathPart(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** A stream's response with the security headers, or 503 saying why there is none. */
function sse(stream: Response | undefined, refusal: string): Response {
  if (!stream) return text(503, refusal);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) stream.headers.set(name, value);
  return stream;
}

/** `303 See Other` to `location`, setting `cookie`. */
function redirect(location: string, cookie: string): Response {
  return new Response(null, {
    status: 303,
    headers: { ...SECURITY_HEADERS, location, "set-cookie": cookie },
  });
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS, ...headers },
  });
}

/** Whether the request comes from a browser page (which gets the login page with a 401). */
function wantsHtml(request: Request): boolean {
  return (request.headers.get("accept") ?? "").includes("text/html");
}

function html(status: number, body: string): Response {
  return text(status, body, { "content-type": HTML });
}

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json", ...SECURITY_HEADERS },
  });
}
