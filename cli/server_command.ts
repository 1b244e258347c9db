/**
 * `iotnet server <port> <attempts>`: argument checking and start-up.
 *
 * @module
 */

import { Command, Option } from "@commander-js/extra-typings";
import {
  DEFAULT_BLOCK_SECONDS,
  FRAME_DEADLINE_MS,
  KEEPALIVE_MS,
  MAX_ATTEMPTS,
  MAX_CONNECTIONS,
  MAX_KEEPALIVE_SECONDS,
  MAX_PENDING_LOGINS,
  MAX_PENDING_LOGINS_PER_ADDRESS,
  MAX_UPLOAD_BYTES,
  MIN_ATTEMPTS,
  REGISTRATIONS_PER_MINUTE,
} from "../protocol/limits.ts";
import { formatLogLine, LOG_FORMATS } from "../server/log_format.ts";
import { startServer, StartupError } from "../server/mod.ts";
import { checkNodeId } from "../server/node_id.ts";
import { parseIntegerArg, UsageError } from "./usage_error.ts";

/** The environment variable that gives `--cluster` when the option is absent. */
export const CLUSTER_URL_ENV = "IOTNET_CLUSTER_URL";

/** Builds the `server` subcommand. */
export function serverCommand() {
  return new Command("server")
    .description("run the central server")
    .argument("<port>", "TCP port to listen on (0 picks a free one)")
    .argument(
      "<attempts>",
      `failed logins before a name is blocked (${MIN_ATTEMPTS}..${MAX_ATTEMPTS})`,
    )
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option(
      "--data-dir <dir>",
      "where logs, uploads and the database live (default: current directory)",
    )
    .option("--credentials <file>", "credentials file (default: <data-dir>/credentials.txt)")
    .option(
      "--block-seconds <seconds>",
      "how long a blocked name stays blocked",
      String(DEFAULT_BLOCK_SECONDS),
    )
    .option("--idle-timeout <seconds>", "log out devices silent this long (0 = never)", "0")
    .option("--login-timeout <seconds>", "time a new connection has to log in", "60")
    .option(
      "--keepalive <seconds>",
      "ping a connection silent this long; close it after 3 times this (0 = never)",
      String(KEEPALIVE_MS / 1000),
    )
    .option("--allow-registration", "let unknown names create an account")
    .option(
      "--registrations-per-minute <n>",
      "accounts one address may create a minute with --allow-registration",
      String(REGISTRATIONS_PER_MINUTE),
    )
    .option(
      "--max-upload-mb <n>",
      "largest upload accepted, in MiB",
      String(MAX_UPLOAD_BYTES / 2 ** 20),
    )
    .option(
      "--max-connections <n>",
      "connections held at once; more are refused",
      String(MAX_CONNECTIONS),
    )
    .option(
      "--max-pending-logins <n>",
      "connections not yet logged in held at once",
      String(MAX_PENDING_LOGINS),
    )
    .option(
      "--max-pending-logins-per-address <n>",
      "connections not yet logged in held at once from one address",
      String(MAX_PENDING_LOGINS_PER_ADDRESS),
    )
    .option(
      "--frame-timeout <seconds>",
      "time a started frame has to arrive whole",
      String(FRAME_DEADLINE_MS / 1000),
    )
    .option(
      "--tls-cert <file>",
      "server certificate (PEM, from `iotnet cert`): the port speaks only TLS",
    )
    .option("--tls-key <file>", "the server certificate's private key (PEM)")
    .option("--http <port>", "also serve the operator HTTP (health, metrics, API) on this port")
    .option("--http-host <host>", "address of the operator HTTP", "127.0.0.1")
    .option(
      "--insecure",
      "allow a non-loopback --host without TLS and plain HTTP on a non-loopback --http-host",
    )
    .addOption(
      new Option("--log-format <format>", "stdout log lines: ISO time then text, or JSON")
        .choices(LOG_FORMATS)
        .default("text" as const),
    )
    .option(
      "--cluster <url>",
      `PostgreSQL database of a network of servers (default: $${CLUSTER_URL_ENV}; none: run alone)`,
    )
    .option("--node-id <id>", "this server's name in the network (default: the host name)")
    .option(
      "--proxy-protocol",
      "every connection starts with a PROXY protocol v2 header (haproxy send-proxy-v2) giving " +
        "the device's address; only behind a balancer that alone can reach the port",
    )
    .action(async (portText, attemptsText, opts) => {
      const port = parseIntegerArg("<port>", portText, 0, 65535);
      const attempts = parseIntegerArg("<attempts>", attemptsText, MIN_ATTEMPTS, MAX_ATTEMPTS);
      const blockSeconds = parseIntegerArg("--block-seconds", opts.blockSeconds, 1, 86_400);
      const idleTimeoutSeconds = parseIntegerArg("--idle-timeout", opts.idleTimeout, 0, 86_400);
      const loginSeconds = parseIntegerArg("--login-timeout", opts.loginTimeout, 1, 3_600);
      const keepaliveSeconds = parseIntegerArg(
        "--keepalive",
        opts.keepalive,
        0,
        MAX_KEEPALIVE_SECONDS,
      );
      const clusterUrl = opts.cluster ?? (Deno.env.get(CLUSTER_URL_ENV) || undefined);
      if (opts.nodeId !== undefined && clusterUrl === undefined) {
        throw new UsageError(
          `--node-id needs --cluster (or ${CLUSTER_URL_ENV}): a node id names a server in a network`,
        );
      }
      if (opts.nodeId !== undefined) {
        try {
          checkNodeId(opts.nodeId);
        } catch (error) {
          throw new UsageError(`--node-id: ${(error as Error).message}`);
        }
      }
      const tls = await readTlsIdentity(opts.tlsCert, opts.tlsKey);
      // Listening before start-up: a stop asked for while it runs (its log lines already
      // out) is a clean stop as soon as it is done.
      const { promise: stop, resolve } = Promise.withResolvers<string>();
      const onSignal = (name: string) => () => resolve(name);
      const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, onSignal(s)] as const);
      for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
      const server = await startServer({
        ...(tls && { tls }),
        insecure: opts.insecure ?? false,
        port,
        attempts,
        hostname: opts.host,
        ...(opts.dataDir !== undefined && { dataDir: opts.dataDir }),
        ...(opts.credentials !== undefined && { credentialsPath: opts.credentials }),
        blockSeconds,
        idleTimeoutSeconds,
        loginDeadlineMs: loginSeconds * 1000,
        keepaliveMs: keepaliveSeconds * 1000,
        maxUploadBytes: parseIntegerArg("--max-upload-mb", opts.maxUploadMb, 1, 2 ** 30) * 2 ** 20,
        maxConnections: parseIntegerArg("--max-connections", opts.maxConnections, 1, 1_000_000),
        maxPendingLogins: parseIntegerArg(
          "--max-pending-logins",
          opts.maxPendingLogins,
          1,
          1_000_000,
        ),
        maxPendingLoginsPerAddress: parseIntegerArg(
          "--max-pending-logins-per-address",
          opts.maxPendingLoginsPerAddress,
          1,
          1_000_000,
        ),
        registrationsPerMinute: parseIntegerArg(
          "--registrations-per-minute",
          opts.registrationsPerMinute,
          1,
          1_000_000,
        ),
        frameDeadlineMs: parseIntegerArg("--frame-timeout", opts.frameTimeout, 1, 3_600) * 1000,
        allowRegistration: opts.allowRegistration ?? false,
        ...(opts.http !== undefined && {
          http: {
            port: parseIntegerArg("--http", opts.http, 0, 65535),
            hostname: opts.httpHost,
            insecure: opts.insecure ?? false,
          },
        }),
        logFormat: opts.logFormat,
        ...(clusterUrl !== undefined && { clusterUrl }),
        ...(opts.nodeId !== undefined && { nodeId: opts.nodeId }),
        proxyProtocol: opts.proxyProtocol ?? false,
      });
      const signal = await stop;
      server.log(`${signal} received: logging everyone out`);
      await server.close();
      for (const [s, handler] of handlers) Deno.removeSignalListener(s, handler);
      console.log(formatLogLine("server stopped", Date.now(), opts.logFormat));
    });
}

/**
 * Reads `--tls-cert` and `--tls-key`, which come together or not at all.
 *
 * @throws {UsageError} when only one is given.
 * @throws {StartupError} when a file cannot be read.
 */
async function readTlsIdentity(certPath: string | undefined, keyPath: string | undefined) {
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined || keyPath === undefined) {
    throw new UsageError("--tls-cert and --tls-key go together: give both (from `iotnet cert`)");
  }
  const read = async (flag: string, path: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      throw new StartupError(
        `${flag} ${path} cannot be read: ${(error as Error).message}; ` +
          "make the files with `iotnet cert <dir>`",
        { cause: error },
      );
    }
  };
  return { cert: await read("--tls-cert", certPath), key: await read("--tls-key", keyPath) };
}
