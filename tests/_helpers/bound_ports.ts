/**
 * The ports a process holds, read from Linux's `/proc`: how a test or benchmark learns the
 * port of a program it started on port 0 when the program does not print it, and how it
 * knows that a program given a port really holds it. Never a port number that was free a
 * moment ago (closed, then handed on): only sockets the process owns now.
 *
 * @module
 */

import { waitUntil } from "./wait.ts";

/** TCP (listening sockets only) or UDP (bound sockets). */
export type Transport = "tcp" | "udp";

/** `st` of a TCP socket in the LISTEN state in `/proc/net/tcp`. */
const TCP_LISTEN = "0A";

/**
 * The local ports of process `pid`'s sockets: TCP sockets listening, or UDP sockets
 * bound. Linux only.
 *
 * @param pid the process.
 * @param transport which sockets.
 * @returns the ports, ascending; none when the process is gone.
 */
export async function boundPorts(pid: number, transport: Transport): Promise<number[]> {
  const inodes = new Set<string>();
  try {
    for await (const entry of Deno.readDir(`/proc/${pid}/fd`)) {
      // A descriptor closed since the listing has no link any more.
      const link = await Deno.readLink(`/proc/${pid}/fd/${entry.name}`).catch(() => "");
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode) inodes.add(inode);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  const ports = new Set<number>();
  for (const table of [transport, `${transport}6`]) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    const text = await Deno.readTextFile(`/proc/${pid}/net/${table}`).catch(() => "");
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || !inodes.has(fields[9]!)) continue;
      if (transport === "tcp" && fields[3] !== TCP_LISTEN) continue;
      ports.add(parseInt(fields[1]!.split(":")[1]!, 16));
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** Options of {@linkcode waitForBoundPort}. */
export interface WaitForPortOptions {
  /** The port the process was told to bind; without it, the one port it binds. */
  port?: number;
  /** Resolves when the process exits: the wait then fails at once. */
  exited?: Promise<unknown>;
  /** Default 20 s. */
  timeoutMs?: number;
}

/**
 * Waits until process `pid` holds a port: `options.port`, or else exactly one port of
 * `transport` (a TCP one listening).
 *
 * @param pid the process.
 * @param transport which sockets.
 * @param options the port expected, the process's exit, the deadline.
 * @returns the port.
 * @throws {Error} when the process exits first, holds several ports and none was named,
 *   or the deadline passes.
 */
export async function waitForBoundPort(
  pid: number,
  transport: Transport,
  options: WaitForPortOptions = {},
): Promise<number> {
  let exited = false;
  void options.exited?.then(() => (exited = true), () => (exited = true));
  const what = `process ${pid} to ${transport === "tcp" ? "listen on" : "bind"} ${
    options.port === undefined ? `a ${transport} port` : `${transport} port ${options.port}`
  }`;
  let port: number | undefined;
  await waitUntil(
    async () => {
      const ports = await boundPorts(pid, transport);
      if (options.port !== undefined) {
        port = ports.includes(options.port) ? options.port : undefined;
      } else if (ports.length > 1) {
        throw new Error(`waiting for ${what}: it holds several (${ports.join(", ")})`);
      } else {
        port = ports[0];
      }
      if (port === undefined && exited) throw new Error(`waiting for ${what}: it exited`);
      return port !== undefined;
    },
    what,
    options.timeoutMs ?? 20_000,
    5,
  );
  return port!;
}

/** A port of 127.0.0.1 that refuses connections, held until disposed. */
export interface RefusingPort extends AsyncDisposable {
  readonly port: number;
}

/**
 * A TCP port of 127.0.0.1 that refuses connections for as long as the handle is held: the
 * local port of a connection this process keeps open. Nothing listens on it, and nothing
 * else can bind it meanwhile (a port that was free a moment ago could be taken by any
 * process in between).
 *
 * @returns the port; `await using` releases it.
 */
export async function refusingPort(): Promise<RefusingPort> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  // Accepted, so closing the listener leaves the connection up: one left in its queue
  // would be reset, and a reset connection gives its port back.
  const accepted = await listener.accept();
  listener.close();
  return {
    port: held.localAddr.port,
    [Symbol.asyncDispose]() {
      held.close();
      accepted.close();
      return Promise.resolve();
    },
  };
}
