/**
 * The edge program: connect, log in (asking again for the password after a failure),
 * register the UDP port, then read commands until `OUT` or end of input. Server pushes
 * are printed as they arrive.
 *
 * @module
 */

import { RemoteError } from "../protocol/errors.ts";
import type { Push } from "../protocol/messages.ts";
import { type CommandEnv, failure, helpText, runCommand } from "./commands.ts";
import { parseCommand } from "./command_parser.ts";
import { EdgeConnection } from "./connection.ts";
import type { LineInput } from "./line_input.ts";
import type { EdgeEvent, Output } from "./output.ts";
import type { Progress } from "./progress.ts";
import { openPeerPort, type PeerPort } from "./peer.ts";

/** Options of {@linkcode runEdge}. */
export interface EdgeOptions {
  serverHost: string;
  serverPort: number;
  /** UDP port for peer traffic; 0 picks a free one. */
  udpPort: number;
  /** Where data files are generated and received files land. */
  dir: string;
}

/** The edge's terminal or pipe. */
export interface EdgeIO {
  input: LineInput;
  output: Output;
  /** True when a person is typing (prompts are shown). */
  interactive: boolean;
  progress(label: string): Progress;
}

/** Exit codes of the edge. */
export const EXIT = { ok: 0, failed: 1 } as const;

/**
 * Runs the edge until the user logs out, input ends, or the server goes away.
 *
 * @returns the process exit code.
 */
export async function runEdge(options: EdgeOptions, io: EdgeIO): Promise<number> {
  const { output } = io;
  let peer: PeerPort;
  try {
    peer = await openPeerPort(options.udpPort, options.dir);
  } catch (error) {
    output.event(
      loginFailed(
        "io",
        `cannot listen on UDP port ${options.udpPort}: ${(error as Error).message}`,
      ),
    );
    return EXIT.failed;
  }
  try {
    return await session(options, io, peer);
  } finally {
    await peer.close();
  }
}

async function session(options: EdgeOptions, io: EdgeIO, peer: PeerPort): Promise<number> {
  const { input, output } = io;
  let connection: EdgeConnection;
  try {
    connection = await EdgeConnection.connect({
      hostname: options.serverHost,
      port: options.serverPort,
    });
  } catch (error) {
    output.event(loginFailed("offline", (error as Error).message));
    return EXIT.failed;
  }
  // Stops reading input as soon as the server goes away.
  const lost = connection.closed.then((reason) => ({ lost: reason }));
  let loggedOutByServer: EdgeEvent | undefined;
  connection.onPush = (push) => {
    const event = toEvent(push);
    if (push.event === "logout") loggedOutByServer = event;
    output.event(event);
  };

  try {
    const device = await login(connection, io, lost);
    if (device === undefined) return EXIT.failed;
    await connection.request("udp_port", { port: peer.port });
    output.event({ event: "login", ok: true, device, message: `Welcome, ${device}!` });
    output.info(helpText());

    const env: CommandEnv = { connection, device, dir: options.dir, progress: io.progress };
    for (;;) {
      const next = await Promise.race([input.read(`${device}> `), lost]);
      if (next !== null && typeof next === "object") {
        if (!loggedOutByServer) {
          output.event({
            event: "logout",
            reason: "connection_lost",
            message: `Disconnected: ${next.lost}`,
          });
        }
        return EXIT.failed;
      }
      if (next === null) {
        const result = await runCommand(env, { cmd: "OUT" });
        output.result(result);
        return result.ok ? EXIT.ok : EXIT.failed;
      }
      if (next.trim() === "") continue;
      const parsed = parseCommand(next);
      if (!parsed.ok) {
        output.result({ cmd: parsed.cmd, ok: false, error: "bad_args", message: parsed.message });
        continue;
      }
      const result = await runCommand(env, parsed.command);
      output.result(result);
      if (parsed.command.cmd === "OUT" && result.ok) return EXIT.ok;
      if (result.ok === false && result.error === "offline") return EXIT.failed;
    }
  } finally {
    connection.close();
  }
}

/** Asks for the name once and the password until success; `undefined` when it gave up. */
async function login(
  connection: EdgeConnection,
  io: EdgeIO,
  lost: Promise<{ lost: string }>,
): Promise<string | undefined> {
  const { input, output } = io;
  const ask = async (prompt: string, secret: boolean) => {
    const line = await Promise.race([input.read(prompt, { secret }), lost]);
    if (line !== null && typeof line === "object") {
      output.event(loginFailed("offline", `lost the connection to the server: ${line.lost}`));
      return undefined;
    }
    if (line === null) output.event(loginFailed("bad_args", "input ended before login completed"));
    return line ?? undefined;
  };
  const name = await ask("Device name: ", false);
  if (name === undefined) return undefined;
  for (;;) {
    const password = await ask("Password: ", true);
    if (password === undefined) return undefined;
    try {
      await connection.request("login", { name: name.trim(), password });
      return name.trim();
    } catch (error) {
      const { error: code, message } = failure("login", error) as {
        error: string;
        message: string;
      };
      output.event(loginFailed(code, message));
      if (!(error instanceof RemoteError) || error.code !== "bad_credentials") return undefined;
    }
  }
}

function loginFailed(error: string, message: string): EdgeEvent {
  return { event: "login", ok: false, error, message };
}

function toEvent(push: Push): EdgeEvent {
  switch (push.event) {
    case "presence":
      return {
        event: "presence",
        device: push.device,
        state: push.state === "online" ? "online" : "offline",
        message: `${push.device} is ${push.state === "online" ? "online" : "offline"}`,
      };
    case "message":
      return {
        event: "message",
        from: push.from,
        text: push.text,
        kind: push.kind,
        message: `${push.from}: ${push.text}`,
      };
    case "logout":
      return {
        event: "logout",
        reason: push.reason,
        message: `Logged out by the server: ${push.message}`,
      };
  }
}
