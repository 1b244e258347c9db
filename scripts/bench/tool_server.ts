/**
 * A reference tool (socat, mosquitto, atftpd) serving on 127.0.0.1 for a benchmark, on a
 * port it holds. No port number is picked by binding, closing and handing it on: another
 * process could take it in between, and the benchmark would then measure that one.
 *
 * - A tool that can bind port 0 does (socat's `TCP-LISTEN:0`); the port the kernel gave
 *   it is read from `/proc` ({@linkcode waitForBoundPort}).
 * - A tool that cannot (mosquitto's `listener 0` means a Unix socket, atftpd's `--port 0`
 *   means 69) is given a random port below the kernel's ephemeral range, which no port-0
 *   bind or outgoing connection on this machine is ever given; when something else holds
 *   it, the tool exits, and it is started again on another one. `/proc` confirms the tool
 *   holds its port before the benchmark uses it.
 *
 * @module
 */

import { type Transport, waitForBoundPort } from "../../tests/_helpers/bound_ports.ts";
import { stopProcess } from "./helpers.ts";

/** A reference tool serving on a port of 127.0.0.1. */
export interface ToolServer extends AsyncDisposable {
  readonly port: number;
  readonly child: Deno.ChildProcess;
  /** SIGTERM unless it has exited, then waits for the exit. */
  stop(): Promise<void>;
}

/** How a tool is started. */
export interface ToolServerSpec {
  transport: Transport;
  /**
   * `kernel`: the tool binds port 0 itself; `chosen`: it is given a port and cannot bind
   * port 0.
   */
  port: "kernel" | "chosen";
  /** The command line that makes the tool serve on `port` (0 with `port: "kernel"`). */
  command(port: number): string[] | Promise<string[]>;
  /** Ports tried before giving up, with `port: "chosen"`. Default 8. */
  attempts?: number;
  /** Picks a port to try, with `port: "chosen"`. Default {@linkcode portBelowEphemeral}. */
  choosePort?: () => number;
  /** Default 20 s. */
  timeoutMs?: number;
}

/** A tool that exited on every port it was given: the last exit is the `cause`. */
export class ToolServerError extends Error {
  override name = "ToolServerError";
}

/**
 * Starts a tool and waits until it holds its port. Its standard streams are closed:
 * nothing it writes can slow it or the benchmark.
 *
 * @param spec the tool.
 * @returns a handle; `await using` stops the tool.
 * @throws {ToolServerError} when the tool did not come up, saying how to run it by hand.
 */
export async function startToolServer(spec: ToolServerSpec): Promise<ToolServer> {
  const attempts = spec.port === "kernel" ? 1 : spec.attempts ?? 8;
  const choose = spec.choosePort ?? portBelowEphemeral;
  let last: Error | undefined;
  let commandLine: string[] = [];
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const wanted = spec.port === "kernel" ? 0 : choose();
    commandLine = await spec.command(wanted);
    const [program, ...args] = commandLine;
    const child = new Deno.Command(program!, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const port = await waitForBoundPort(child.pid, spec.transport, {
        exited: child.status,
        timeoutMs: spec.timeoutMs ?? 20_000,
        ...(wanted !== 0 && { port: wanted }),
      });
      const stop = async () => {
        await stopProcess(child);
      };
      return { port, child, stop, [Symbol.asyncDispose]: stop };
    } catch (error) {
      await stopProcess(child);
      last = error as Error;
    }
  }
  throw new ToolServerError(
    `${commandLine[0]} did not serve (${attempts} attempt${attempts === 1 ? "" : "s"}): ` +
      `${last?.message}; run it by hand to see why: ${commandLine.join(" ")}`,
    { cause: last },
  );
}

/**
 * A random port from the 16,384 below the start of the kernel's ephemeral range
 * (`/proc/sys/net/ipv4/ip_local_port_range`, 32768 by default), and above 1023.
 *
 * @returns the port.
 */
export function portBelowEphemeral(): number {
  let start = Number.NaN;
  try {
    start = Number(Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").split(/\s+/)[0]);
  } catch {
    // not Linux: the usual range below
  }
  if (!Number.isInteger(start) || start <= 1024) start = 32_768;
  const low = Math.max(1024, start - 16_384);
  return low + Math.floor(Math.random() * (start - low));
}
