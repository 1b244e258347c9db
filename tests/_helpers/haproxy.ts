/**
 * A real haproxy in TCP mode in front of test servers: one frontend per route, each on a
 * port of 127.0.0.1 picked free, its configuration in a temp directory, stopped and
 * removed on disposal. haproxy cannot listen on port 0, so the port is one that was free
 * a moment ago: when another process takes it first, haproxy fails to bind and the start
 * is tried again on another.
 *
 * @module
 */

import { join } from "node:path";
import { waitForBoundPort } from "./bound_ports.ts";
import { LineCollector } from "./line_collector.ts";

/** Where one frontend sends its connections. */
export interface HaproxyRoute {
  /** The server's port on 127.0.0.1. */
  to: number;
  /** haproxy `server` line options (`send-proxy-v2`, `source 127.0.0.2`, `check`, ...). */
  options: string;
}

/** Starts tried before giving up, each on freshly picked ports. */
const START_TRIES = 5;

/** A running haproxy. */
export class Haproxy implements AsyncDisposable {
  /** The port of each route's frontend, in the order given. */
  readonly ports: readonly number[];
  readonly #child: Deno.ChildProcess;
  readonly #dir: string;
  readonly stderr: LineCollector;

  private constructor(
    child: Deno.ChildProcess,
    dir: string,
    ports: number[],
    stderr: LineCollector,
  ) {
    this.#child = child;
    this.#dir = dir;
    this.ports = ports;
    this.stderr = stderr;
  }

  /**
   * Starts haproxy with a frontend per route and waits until it listens on all of them.
   *
   * @throws {Error} with haproxy's own messages when it does not start.
   */
  static async start(routes: HaproxyRoute[]): Promise<Haproxy> {
    const dir = await Deno.makeTempDir({ prefix: "iotnet-haproxy-" });
    let failure = "";
    for (let attempt = 0; attempt < START_TRIES; attempt++) {
      const ports = routes.map(() => freePort());
      const config = join(dir, "haproxy.cfg");
      await Deno.writeTextFile(config, configuration(routes, ports));
      const child = new Deno.Command("haproxy", {
        args: ["-db", "-f", config],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const stderr = new LineCollector(child.stderr);
      try {
        for (const port of ports) {
          await waitForBoundPort(child.pid, "tcp", { port, exited: child.status });
        }
        return new Haproxy(child, dir, ports, stderr);
      } catch (error) {
        try {
          child.kill("SIGKILL");
        } catch { /* exited */ }
        await child.status;
        await stderr.done;
        failure = `${(error as Error).message}\n${stderr.lines.join("\n")}`;
        // Another process took a port between picking and binding: pick again.
        if (!/cannot bind|Address already in use/i.test(failure)) break;
      }
    }
    await Deno.remove(dir, { recursive: true });
    throw new Error(`haproxy did not start: ${failure}`);
  }

  /** Stops haproxy and removes its configuration. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch { /* exited */ }
    await this.#child.status;
    await this.stderr.done;
    await Deno.remove(this.#dir, { recursive: true });
  }
}

/** A TCP port of 127.0.0.1 free at this moment. */
function freePort(): number {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  return listener.addr.port;
}

function configuration(routes: HaproxyRoute[], ports: number[]): string {
  const lines = [
    "global",
    "  maxconn 256",
    "defaults",
    "  mode tcp",
    "  timeout connect 5s",
    "  timeout client 60s",
    "  timeout server 60s",
  ];
  routes.forEach((route, i) => {
    lines.push(
      `frontend route${i}`,
      `  bind 127.0.0.1:${ports[i]}`,
      `  default_backend server${i}`,
      `backend server${i}`,
      `  server node 127.0.0.1:${route.to} ${route.options}`,
    );
  });
  return `${lines.join("\n")}\n`;
}
