/**
 * `iotnet server <port> <attempts>`: argument checking and start-up.
 *
 * @module
 */

import { Command, Option } from "@commander-js/extra-typings";
import {
  DEFAULT_BLOCK_SECONDS,
  FRAME_DEADLINE_MS,
  MAX_ATTEMPTS,
  MAX_CONNECTIONS,
  MAX_PENDING_LOGINS,
  MAX_PENDING_LOGINS_PER_ADDRESS,
  MAX_UPLOAD_BYTES,
  MIN_ATTEMPTS,
  REGISTRATIONS_PER_MINUTE,
} from "../protocol/limits.ts";
import { formatLogLine, LOG_FORMATS } from "../server/log_format.ts";
import { startServer } from "../server/mod.ts";
import { readPemFile } from "./pem_file.ts";
import { parseIntegerArg, UsageError } from "./usage_error.ts";

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
      "serve devices over TLS (ALPN iotnet/1) with this certificate (PEM)",
    )
    .option("--tls-key <file>", "the private key of --tls-cert (PEM)")
    .option("--insecure", "allow a non-loopback --host without TLS (warns at every start)")
    .addOption(
      new Option("--log-format <format>", "stdout log lines: ISO time then text, or JSON")
        .choices(LOG_FORMATS)
        .default("text" as const),
    )
    .action(async (portText, attemptsText, opts) => {
      const port = parseIntegerArg("<port>", portText, 0, 65535);
      const attempts = parseIntegerArg("<attempts>", attemptsText, MIN_ATTEMPTS, MAX_ATTEMPTS);
      const blockSeconds = parseIntegerArg("--block-seconds", opts.blockSeconds, 1, 86_400);
      const idleTimeoutSeconds = parseIntegerArg("--idle-timeout", opts.idleTimeout, 0, 86_400);
      const loginSeconds = parseIntegerArg("--login-timeout", opts.loginTimeout, 1, 3_600);
      if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) {
        throw new UsageError("--tls-cert and --tls-key go together; give both or neither");
      }
      const tls = opts.tlsCert !== undefined && opts.tlsKey !== undefined
        ? {
          cert: await readPemFile("--tls-cert", opts.tlsCert, "certificate"),
          key: await readPemFile("--tls-key", opts.tlsKey, "private key"),
        }
        : undefined;
      // Listening before start-up: a stop asked for while it runs (its log lines already
      // out) is a clean stop as soon as it is done.
      const { promise: stop, resolve } = Promise.withResolvers<string>();
      const onSignal = (name: string) => () => resolve(name);
      const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, onSignal(s)] as const);
      for (const [signal, handler] of handlers) Deno.addSignalListener(signal, handler);
      const server = await startServer({
        port,
        attempts,
        hostname: opts.host,
        ...(opts.dataDir !== undefined && { dataDir: opts.dataDir }),
        ...(opts.credentials !== undefined && { credentialsPath: opts.credentials }),
        blockSeconds,
        idleTimeoutSeconds,
        loginDeadlineMs: loginSeconds * 1000,
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
        ...(tls && { tls }),
        insecure: opts.insecure ?? false,
        logFormat: opts.logFormat,
      });
      const signal = await stop;
      server.log(`${signal} received: logging everyone out`);
      await server.close();
      for (const [s, handler] of handlers) Deno.removeSignalListener(s, handler);
      console.log(formatLogLine("server stopped", Date.now(), opts.logFormat));
    });
}
