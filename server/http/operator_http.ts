/**
 * The operator's HTTP listener (SPEC §8): `/healthz` and `/readyz` for anyone, and behind
 * the operator token `/metrics` and `/api/devices`. It reads what the device path keeps
 * (plain counters, the registry of active devices) and never makes the device path wait:
 * `/metrics` renders at most once a second and hands out that text until it is a second
 * old. This is the only file that calls `Deno.serve`.
 *
 * TLS: given `tls` (the server's certificate and key, when the server runs with TLS) it
 * serves HTTPS; a non-loopback address needs it, or `insecure`.
 *
 * @module
 */

import type { Clock } from "../../internal/mod.ts";
import type { ActiveDevices } from "../active_devices.ts";
import type { Disk } from "../disk.ts";
import type { FileRecords } from "../store/interfaces.ts";
import { OperatorAuth } from "./operator_auth.ts";
import { loadOperatorToken } from "./operator_token.ts";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheusText } from "./prometheus_text.ts";
import { metricFamilies, type ServerMetrics } from "./server_metrics.ts";

/** Longest a rendered `/metrics` is served again before it is rendered anew, in ms. */
export const METRICS_SNAPSHOT_MS = 1_000;

/** `/api/files/<device>/<id>/plot`. */
const PLOT_PATH = /^\/api\/files\/([^/]{1,256})\/(\d{1,9})\/plot$/;

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
  active: ActiveDevices;
  /** Stored files' records and plot summaries. */
  files: FileRecords;
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

  function metricsText(): string {
    const now = ctx.clock.now();
    if (snapshot && now - snapshot.at < METRICS_SNAPSHOT_MS) return snapshot.text;
    const text = renderPrometheusText(metricFamilies(ctx.metrics, {
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
    if (request.method !== "GET" && !(request.method === "POST" && url.pathname === "/login")) {
      return text(405, "only GET (and POST /login) are served\n");
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
    }
    if (!auth.allows(request)) {
      return text(
        401,
        "give the operator token: `Authorization: Bearer <token>` " +
          "(the token is in the data directory's operator-token file)\n",
        { "www-authenticate": 'Bearer realm="iotnet"' },
      );
    }
    switch (url.pathname) {
      case "/metrics":
        return text(200, metricsText(), { "content-type": PROMETHEUS_CONTENT_TYPE });
      case "/api/devices":
        return json(
          ctx.active.list().map(({ name, since, ip, udpPort }) => ({
            name,
            since: new Date(since).toISOString(),
            ip,
            udpPort,
          })),
        );
    }
    const plotPath = PLOT_PATH.exec(url.pathname);
    if (plotPath) {
      const device = decodeURIComponent(plotPath[1]!);
      const fileID = Number(plotPath[2]);
      const plot = await ctx.files.plot(device, fileID);
      return plot ? json(plot) : text(404, `no plot summary for ${device}'s file ${fileID}\n`);
    }
    return text(404, `no such page: ${url.pathname}\n`);
  }

  async function login(request: Request): Promise<Response> {
    const form = await request.formData().catch(() => undefined);
    const given = form?.get("token");
    if (typeof given !== "string" || !auth.isToken(given.trim())) {
      return text(401, "wrong operator token\n");
    }
    return new Response(null, {
      status: 303,
      headers: { ...SECURITY_HEADERS, location: "/", "set-cookie": auth.setCookie(secure) },
    });
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
  return {
    hostname: addr.hostname,
    port: addr.port,
    secure,
    close: () => server.shutdown(),
  };
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS, ...headers },
  });
}

function json(value: unknown): Response {
  return new Response(JSON.stringify(value), {
    headers: { "content-type": "application/json", ...SECURITY_HEADERS },
  });
}
