/**
 * The operator HTTP port (SPEC §8): `/healthz`, `/readyz`, `/metrics`, `/api/devices`,
 * the login, the fleet overview page and its live feed (`/events`). The only file that calls
 * `Deno.serve`.
 *
 * Nothing here runs on the device path: answers read the registry of active devices (a
 * bounded, synchronous scan), the metrics snapshot (rendered at most once a second) or the
 * live feed (one overview a second for all its clients).
 * TLS: given `tls` (a certificate and key in PEM), the same routes are served over HTTPS.
 *
 * @module
 */

import { OperatorAccess } from "./access.ts";
import { pageDevices, parseDeviceQuery } from "./devices_api.ts";
import { loginPage } from "./login_page.ts";
import type { MetricsSnapshot } from "./metrics_snapshot.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./prometheus_text.ts";
import { withSecurityHeaders } from "./security_headers.ts";
import type { Clock } from "../../internal/mod.ts";
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from "./dashboard_assets.ts";
import { LiveFeed, MAX_LIVE_CLIENTS } from "./live_feed.ts";
import type { ServerMetrics } from "./metrics.ts";
import { fleetOverview } from "./overview.ts";

/** The largest body `POST /login` reads. */
export const MAX_LOGIN_BODY_BYTES = 4_096;

/** What the port serves, and where. */
export interface OperatorHttpOptions {
  hostname: string;
  /** 0 picks a free one. */
  port: number;
  /** The operator token. */
  token: string;
  snapshot: MetricsSnapshot;
  /** The counters, for the overview. */
  metrics: ServerMetrics;
  /** The server's clock: paces the live feed. */
  clock: Clock;
  /** The last event-loop lag seen, seconds. */
  eventLoopLagSeconds(): number;
  /** `undefined` when the server is ready, else why not (for `/readyz`). */
  notReady(): string | undefined;
  /** The devices active now, oldest login first. */
  devices(): readonly { name: string; since: number; ip: string; udpPort: number }[];
  /** Told of a request that failed inside the server (one line). */
  log(line: string): void;
  /** Certificate and key (PEM): serve HTTPS. */
  tls?: { cert: string; key: string };
}

/** The running port. */
export interface OperatorHttp extends AsyncDisposable {
  readonly hostname: string;
  readonly port: number;
  /** Whether it is HTTPS. */
  readonly secure: boolean;
  close(): Promise<void>;
}

/**
 * Starts serving.
 *
 * @throws {Deno.errors.AddrInUse} and the like when the address cannot be listened on.
 */
export async function startOperatorHttp(options: OperatorHttpOptions): Promise<OperatorHttp> {
  const secure = options.tls !== undefined;
  const access = await OperatorAccess.create(options.token, secure);
  const feed = new LiveFeed(options.clock, () => fleetOverview(options));
  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    ...options.tls,
    onListen: () => {},
    onError: (error) => {
      // One line, never a stack.
      options.log(`operator http: ${error instanceof Error ? error.message : String(error)}`);
      return withSecurityHeaders(text(500, "internal error; see the server's log\n"));
    },
  }, async (request) => withSecurityHeaders(await route(request, options, access, feed)));
  let closed: Promise<void> | undefined;
  // The live streams never end by themselves: end them, or shutdown waits for them.
  const close = () => closed ??= (feed.close(), server.shutdown());
  return {
    hostname: server.addr.hostname,
    port: server.addr.port,
    secure,
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function route(
  request: Request,
  options: OperatorHttpOptions,
  access: OperatorAccess,
  feed: LiveFeed,
): Promise<Response> {
  const url = new URL(request.url);
  const path = url.pathname;
  const method = request.method;
  // The two paths open to anyone: they say only whether the server runs and is ready.
  if (path === "/healthz") return method === "GET" ? text(200, "ok\n") : notAllowed("GET");
  if (path === "/readyz") {
    if (method !== "GET") return notAllowed("GET");
    const reason = options.notReady();
    return reason === undefined ? text(200, "ready\n") : text(503, `not ready: ${reason}\n`);
  }
  if (path === "/login") {
    if (method !== "POST") return notAllowed("POST");
    const token = await formField(request, "token");
    if (token === undefined || !access.isToken(token)) {
      return unauthorized(request, "That is not the operator token.");
    }
    return new Response(null, {
      status: 303,
      headers: { location: "/", "set-cookie": access.sessionCookie() },
    });
  }
  if (!access.allows(request)) {
    return unauthorized(request, "Give the operator token to see the dashboard.");
  }
  switch (path) {
    case "/logout":
      if (method !== "POST") return notAllowed("POST");
      return new Response(null, {
        status: 303,
        headers: { location: "/", "set-cookie": access.clearedCookie() },
      });
    case "/metrics":
      if (method !== "GET") return notAllowed("GET");
      return new Response(options.snapshot.text(), {
        headers: { "content-type": PROMETHEUS_CONTENT_TYPE },
      });
    case "/api/devices": {
      if (method !== "GET") return notAllowed("GET");
      const query = parseDeviceQuery(url.searchParams);
      if (typeof query === "string") return json(400, { error: query });
      return json(200, pageDevices(options.devices(), query));
    }
    case "/":
      return asset(method, DASHBOARD_HTML, HTML);
    case "/dashboard.js":
      return asset(method, DASHBOARD_JS, "text/javascript; charset=utf-8");
    case "/dashboard.css":
      return asset(method, DASHBOARD_CSS, "text/css; charset=utf-8");
    case "/events":
      if (method !== "GET") return notAllowed("GET");
      return feed.open() ??
        text(503, `${MAX_LIVE_CLIENTS} live views are open, the most allowed; close one\n`);
    default:
      return text(404, `no such page: ${path.slice(0, 100)}\n`);
  }
}

const HTML = "text/html; charset=utf-8";

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });
}

function asset(method: string, body: string, type: string): Response {
  if (method !== "GET") return notAllowed("GET");
  return new Response(body, { headers: { "content-type": type } });
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

function notAllowed(allowed: string): Response {
  const response = text(405, `method not allowed; use ${allowed}\n`);
  response.headers.set("allow", allowed);
  return response;
}

/** 401: the login page for a browser, a sentence for anything else. */
function unauthorized(request: Request, notice: string): Response {
  const browser = (request.headers.get("accept") ?? "").includes("text/html");
  const response = browser
    ? new Response(loginPage(notice), { status: 401, headers: { "content-type": HTML } })
    : text(
      401,
      "the operator token is needed: send Authorization: Bearer <token> " +
        "(the token is in <data-dir>/operator-token)\n",
    );
  response.headers.set("www-authenticate", 'Bearer realm="iotnet"');
  return response;
}

/** Field `name` of a form-encoded body of at most {@linkcode MAX_LOGIN_BODY_BYTES}. */
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
