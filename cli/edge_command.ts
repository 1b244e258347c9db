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
import { type DeviceKey, importDeviceKey } from "../tls/device_key.ts";
import { pemCertificates, readPemFile } from "./pem_file.ts";
import { parseIntegerArg, UsageError } from "./usage_error.ts";

/** Builds the `edge` subcommand; the action sets `Deno.exitCode`. */
export function edgeCommand() {
  return new Command("edge")
    .description("run an edge device: log in, then type commands (or pipe them in)")
    .argument("<server_host>", "server address")
    .argument("<server_port>", "server TCP port")
    .argument("<udp_port>", "UDP port for peer transfers (0 picks a free one)")
    .option("--dir <dir>", "where data files are generated and received files land", ".")
    .option("--json", "print one JSON object per line (see docs/JSON.md)")
    .option(
      "--udp-advertise <port>",
      "UDP port to register with the server, when a NAT or relay forwards it to <udp_port>",
    )
    .option("--key <file>", "log in with this device key (from `iotnet keygen`), no password")
    .option("--tls-ca <file>", "speak TLS; accept only a server certificate from this CA (PEM)")
    .option("--stall-timeout <seconds>", "abandon an incoming file transfer silent this long", "30")
    .action(async (host, portText, udpText, opts) => {
      const serverPort = parseIntegerArg("<server_port>", portText, 1, 65535);
      const udpPort = parseIntegerArg("<udp_port>", udpText, 0, 65535);
      const stallSeconds = parseIntegerArg("--stall-timeout", opts.stallTimeout, 1, 86_400);
      const advertised = opts.udpAdvertise === undefined
        ? undefined
        : parseIntegerArg("--udp-advertise", opts.udpAdvertise, 1, 65535);
      try {
        if (!(await Deno.stat(opts.dir)).isDirectory) {
          throw new UsageError(`--dir ${opts.dir} is not a directory`);
        }
      } catch (error) {
        if (error instanceof UsageError) throw error;
        throw new UsageError(`--dir ${opts.dir} cannot be used: ${(error as Error).message}`, {
          cause: error,
        });
      }
      const tlsCa = opts.tlsCa === undefined
        ? undefined
        : await readPemFile("--tls-ca", opts.tlsCa, "certificate");
      const key = opts.key === undefined ? undefined : await readDeviceKey(opts.key);
      const interactive = Deno.stdin.isTerminal() && Deno.stdout.isTerminal();
      const json = opts.json ?? false;
      const input = interactive
        ? new TerminalInput({ input: process.stdin, output: process.stdout })
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
            ...(tlsCa !== undefined && { tls: { caCerts: pemCertificates(tlsCa) } }),
            ...(key && { key }),
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
 * Reads `--key`: a device's Ed25519 private key.
 *
 * @throws {UsageError} when it cannot be read or is no such key.
 */
async function readDeviceKey(path: string): Promise<DeviceKey> {
  const text = await readPemFile("--key", path, "private key", "iotnet keygen");
  try {
    return await importDeviceKey(text);
  } catch (error) {
    throw new UsageError(`--key ${path}: ${(error as Error).message}`, { cause: error });
  }
}
