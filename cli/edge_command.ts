/**
 * `iotnet edge <server_host> <server_port> <udp_port>`: wires the edge program to the
 * terminal or to pipes.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { runEdge } from "../client/edge.ts";
import { PipeInput } from "../client/line_input.ts";
import { createOutput } from "../client/output.ts";
import { noProgress, terminalProgress } from "../client/progress.ts";
import process from "node:process";
import { TerminalInput } from "../client/terminal_input.ts";
import { CONNECT_TIMEOUT_MS, MAX_KEEPALIVE_SECONDS } from "../protocol/limits.ts";
import { importDevicePrivateKey } from "../tls/device_key.ts";
import { parseIntegerArg, UsageError } from "./usage_error.ts";

/** Builds the `edge` subcommand; the action sets `Deno.exitCode`. */
export function edgeCommand() {
  return new Command("edge")
    .description("run an edge device: log in, then type commands (or pipe them in)")
    .argument("<server_host>", "server address")
    .argument("<server_port>", "server TCP port")
    .argument("<udp_port>", "UDP port for peer transfers (0 picks a free one)")
    .option(
      "--dir <dir>",
      "where data files are generated and received files land (created if missing)",
      ".",
    )
    .option("--json", "print one JSON object per line (see docs/JSON.md)")
    .option("--password-file <file>", "read the password from this file instead of asking")
    .option(
      "--connect-timeout <seconds>",
      "give up when the server has not answered the handshake by then",
      String(CONNECT_TIMEOUT_MS / 1000),
    )
    .option("--no-reconnect", "end (exit 1) when the connection drops, instead of reconnecting")
    .option(
      "--udp-advertise <port>",
      "UDP port to register with the server, when a NAT or relay forwards it to <udp_port>",
    )
    .option("--stall-timeout <seconds>", "abandon an incoming file transfer silent this long", "30")
    .option("--key <file>", "log in with this device key (from `iotnet keygen`), no password")
    .option("--tls-ca <file>", "the deployment's ca.crt: connect with TLS, trust only that CA")
    .action(async (host, portText, udpText, opts) => {
      const serverPort = parseIntegerArg("<server_port>", portText, 1, 65535);
      const udpPort = parseIntegerArg("<udp_port>", udpText, 0, 65535);
      const stallSeconds = parseIntegerArg("--stall-timeout", opts.stallTimeout, 1, 86_400);
      const advertised = opts.udpAdvertise === undefined
        ? undefined
        : parseIntegerArg("--udp-advertise", opts.udpAdvertise, 1, 65535);
      const connectSeconds = parseIntegerArg(
        "--connect-timeout",
        opts.connectTimeout,
        1,
        MAX_KEEPALIVE_SECONDS,
      );
      await ensureDirectory(opts.dir);
      const password = opts.passwordFile === undefined
        ? undefined
        : await readPasswordFile(opts.passwordFile);
      let tlsCa: string | undefined;
      if (opts.tlsCa !== undefined) {
        try {
          tlsCa = await Deno.readTextFile(opts.tlsCa);
        } catch (error) {
          throw new UsageError(
            `--tls-ca ${opts.tlsCa} cannot be read: ${(error as Error).message}; give the ` +
              "ca.crt that `iotnet cert` wrote",
            { cause: error },
          );
        }
      }
      let deviceKey: CryptoKey | undefined;
      if (opts.key !== undefined) {
        try {
          deviceKey = await importDevicePrivateKey(await Deno.readTextFile(opts.key));
        } catch (error) {
          throw new UsageError(`--key ${opts.key}: ${(error as Error).message}`, { cause: error });
        }
      }
      // A person types at a terminal: then nothing secret is echoed, whatever stdout is
      // (`| tee log`); prompts and echo go to the terminal, results to stdout.
      const interactive = Deno.stdin.isTerminal();
      const json = opts.json ?? false;
      const input = interactive
        ? new TerminalInput(
          Deno.stdout.isTerminal()
            ? { input: process.stdin, output: process.stdout }
            : { input: process.stdin, output: process.stderr, results: Deno.stdout },
        )
        : new PipeInput(Deno.stdin.readable, Deno.stdout);
      const output = createOutput(input, {
        json,
        color: !json && Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR"),
      });
      const showProgress = !json && Deno.stderr.isTerminal();
      try {
        Deno.exitCode = await runEdge(
          {
            serverHost: host,
            serverPort,
            udpPort,
            dir: opts.dir,
            stallTimeoutMs: stallSeconds * 1000,
            connectTimeoutMs: connectSeconds * 1000,
            reconnect: opts.reconnect,
            ...(password !== undefined && { password }),
            ...(tlsCa !== undefined && { tlsCa }),
            ...(deviceKey !== undefined && { deviceKey }),
            ...(advertised !== undefined && { advertisedUdpPort: advertised }),
          },
          {
            input,
            output,
            interactive,
            progress: (label) => showProgress ? terminalProgress(label, Deno.stderr) : noProgress,
          },
        );
      } finally {
        input.close();
      }
    });
}

/**
 * Makes `--dir` if it is missing (with its parents).
 *
 * @throws {UsageError} when it exists but is no directory, or cannot be made.
 */
async function ensureDirectory(dir: string): Promise<void> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (error) {
    const what = error instanceof Deno.errors.AlreadyExists
      ? "it exists and is not a directory"
      : (error as Error).message;
    throw new UsageError(`--dir ${dir} cannot be used: ${what}`, { cause: error });
  }
}

/**
 * Reads a password file: its first line, without the line break.
 *
 * @throws {UsageError} when it cannot be read or its first line is empty.
 */
async function readPasswordFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`--password-file ${path} cannot be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const password = text.split(/\r?\n/, 1)[0] ?? "";
  if (password === "") {
    throw new UsageError(`--password-file ${path} is empty; put the password on its first line`);
  }
  return password;
}
