/**
 * The edge program: connect, bind the peer port, log in (asking again for the password
 * after a failure), register the UDP port, then read commands until `OUT` or end of
 * input. Server pushes and peer events are printed as they arrive; file transfers run
 * in the background so the prompt stays usable.
 *
 * @module
 */

import { visible } from "../internal/visible_text.ts";
import { BadCredentialsError, type ErrorCode } from "../protocol/errors.ts";
import type { Push, PushFields } from "../protocol/messages.ts";
import { ChatRequests } from "./chat_requests.ts";
import { parseCommand } from "./command_parser.ts";
import type { CommandEnv } from "./commands/command.ts";
import { helpText } from "./commands/mod.ts";
import { parseAnswer } from "./commands/private_chat.ts";
import { EdgeConnection } from "./connection.ts";
import type { DialTls } from "./dial.ts";
import type { DeviceKey } from "../tls/device_key.ts";
import type { LineInput } from "./line_input.ts";
import type { EdgeEvent, Output } from "./output.ts";
import { PeerLink } from "./peer.ts";
import { milestoneProgress, noProgress, type Progress } from "./progress.ts";
import { commandSpecOf, failure, runCommand } from "./run_command.ts";

/** Options of {@linkcode runEdge}. */
export interface EdgeOptions {
  serverHost: string;
  serverPort: number;
  /** UDP port for peer traffic; 0 picks a free one. */
  udpPort: number;
  /** Where data files are generated and received files land. */
  dir: string;
  /** Port to register instead of the bound one (a NAT or relay forwards it here). */
  advertisedUdpPort?: number;
  /** Abandon an incoming transfer silent this long (ms); default from `p2p/limits.ts`. */
  stallTimeoutMs?: number;
  /** Speak TLS and accept only a server this CA vouches for (`--tls-ca`). */
  tls?: DialTls;
  /** Log in with this device key instead of a password (`--key`). */
  key?: DeviceKey;
}

/** The edge's terminal or pipe. */
export interface EdgeIO {
  input: LineInput;
  output: Output;
  /** True when a person is typing (prompts are shown). */
  interactive: boolean;
  /** A progress bar for a transfer that holds the prompt (drawn on a terminal only). */
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
  let connection: EdgeConnection;
  try {
    connection = await EdgeConnection.connect({
      hostname: options.serverHost,
      port: options.serverPort,
      ...(options.tls && { tls: options.tls }),
    });
  } catch (error) {
    output.event(loginFailed("offline", (error as Error).message));
    return EXIT.failed;
  }
  let peer: PeerLink;
  try {
    // Listen where the server sees us: the local end of the TCP connection.
    peer = await PeerLink.open(
      connection.localHostname,
      options.udpPort,
      options.dir,
      options.stallTimeoutMs,
    );
  } catch (error) {
    connection.close();
    output.event(
      loginFailed(
        "io",
        `cannot listen on UDP port ${options.udpPort}: ${(error as Error).message}`,
      ),
    );
    return EXIT.failed;
  }
  try {
    return await new EdgeSession(options, io, connection, peer).run();
  } finally {
    connection.close();
    await peer.close();
  }
}

/** One logged-in (or logging-in) edge. */
class EdgeSession {
  readonly #options: EdgeOptions;
  readonly #io: EdgeIO;
  readonly #connection: EdgeConnection;
  readonly #peer: PeerLink;
  readonly #lost: Promise<{ lost: string }>;
  /** Devices that asked for a private chat, awaiting y/n. */
  readonly #chatRequests = new ChatRequests();
  /** Transfers running in the background. */
  readonly #transfers = new Set<Promise<void>>();
  #loggedOutByServer = false;
  /** Pushes that arrive before the welcome is shown wait here, to keep output in order. */
  #early: Push[] | undefined = [];

  constructor(options: EdgeOptions, io: EdgeIO, connection: EdgeConnection, peer: PeerLink) {
    this.#options = options;
    this.#io = io;
    this.#connection = connection;
    this.#peer = peer;
    this.#lost = connection.closed.then((reason) => ({ lost: reason }));
    connection.onPush = (push) => this.#early ? this.#early.push(push) : this.#onPush(push);
    const events = peer.endpoint.events;
    events.on("file", (e) =>
      io.output.event({
        event: "file",
        from: e.from,
        path: e.path,
        bytes: e.bytes,
        message: `Received ${visible(e.path)} (${e.bytes} bytes) from ${visible(e.from)}`,
      }));
    events.on("file_failed", (e) =>
      io.output.event({
        event: "file",
        ok: false,
        from: e.from,
        error: e.reason,
        message: `Receiving ${visible(e.filename)} from ${visible(e.from)} failed: ${
          visible(e.message)
        }`,
      }));
    events.on("chat", (e) =>
      io.output.event({
        event: "message",
        from: e.from,
        text: e.text,
        kind: "private",
        message: `${visible(e.from)} (private): ${visible(e.text)}`,
      }));
  }

  async run(): Promise<number> {
    const { output } = this.#io;
    const login = await this.#login();
    if (login === undefined) return EXIT.failed;
    const { device, registered } = login;
    await this.#connection.request("udp_port", {
      port: this.#options.advertisedUdpPort ?? this.#peer.port,
    });
    output.event({
      event: "login",
      ok: true,
      device,
      registered,
      message: registered ? `Welcome, ${device}! Your account was created.` : `Welcome, ${device}!`,
    });
    output.info(helpText());
    for (const push of this.#early ?? []) this.#onPush(push);
    this.#early = undefined;
    const env: CommandEnv = {
      connection: this.#connection,
      device,
      dir: this.#options.dir,
      peer: this.#peer,
      chatRequests: this.#chatRequests,
      progress: this.#io.progress,
      backgroundProgress: (label) =>
        this.#io.interactive && !output.json
          ? milestoneProgress(label, (line) => output.info(line))
          : noProgress,
    };
    for (;;) {
      const next = await this.#read(`${device}> `);
      if (next !== null && typeof next === "object") return this.#disconnected(next.lost);
      if (next === null) return await this.#logout(env);
      if (next.trim() === "") continue;
      const oldest = this.#chatRequests.oldest;
      const answer = oldest === undefined ? undefined : parseAnswer(next, oldest);
      if (answer) {
        output.result(await runCommand(env, { cmd: "ANSWER", ...answer }));
        continue;
      }
      const parsed = parseCommand(next);
      if (!parsed.ok) {
        output.result({ cmd: parsed.cmd, ok: false, error: "bad_args", message: parsed.message });
        continue;
      }
      const command = parsed.command;
      if (command.cmd === "OUT") return await this.#logout(env);
      if (commandSpecOf(command).background) {
        const task = runCommand(env, command).then((r) => output.result(r));
        this.#transfers.add(task);
        void task.finally(() => this.#transfers.delete(task));
        continue;
      }
      output.result(await runCommand(env, command));
      if (this.#connection.isClosed) return this.#disconnected((await this.#lost).lost);
    }
  }

  /** Says the connection is gone (unless the server already said why) and fails. */
  #disconnected(reason: string): number {
    if (!this.#loggedOutByServer) {
      this.#io.output.event({
        event: "logout",
        reason: "connection_lost",
        message: `Disconnected: ${reason}`,
      });
    }
    return EXIT.failed;
  }

  /** Waits for transfers in flight, then logs out. */
  async #logout(env: CommandEnv): Promise<number> {
    if (this.#transfers.size > 0) {
      this.#io.output.info(
        `waiting for ${this.#transfers.size} transfer(s) to finish before logging out`,
      );
      await Promise.all(this.#transfers);
    }
    const result = await runCommand(env, { cmd: "OUT" });
    this.#io.output.result(result);
    return result.ok ? EXIT.ok : EXIT.failed;
  }

  /** Reads a line, or learns that the connection is gone. */
  #read(prompt: string, secret = false): Promise<string | null | { lost: string }> {
    return Promise.race([this.#io.input.read(prompt, { secret }), this.#lost]);
  }

  /**
   * Asks for the name once and the password until success; `undefined` when it gave up.
   * `registered` says whether this login created the account.
   */
  async #login(): Promise<{ device: string; registered: boolean } | undefined> {
    const { output } = this.#io;
    const ask = async (prompt: string, secret: boolean) => {
      const line = await this.#read(prompt, secret);
      if (line !== null && typeof line === "object") {
        output.event(loginFailed("offline", `lost the connection to the server: ${line.lost}`));
        return undefined;
      }
      if (line === null) {
        output.event(loginFailed("bad_args", "input ended before login completed"));
      }
      return line ?? undefined;
    };
    const typed = await ask("Device name: ", false);
    if (typed === undefined) return undefined;
    const name = typed.trim();
    const { key } = this.#options;
    if (key) {
      // No password is asked or sent; a refused key is not worth a second try.
      try {
        const { ticketKey, registered } = await this.#connection.loginWithKey(name, key);
        this.#peer.setTicketKey(ticketKey, name);
        return { device: name, registered: registered ?? false };
      } catch (error) {
        const { error: code, message } = failure("login", error);
        output.event(loginFailed(code, message));
        return undefined;
      }
    }
    for (;;) {
      const password = await ask("Password: ", true);
      if (password === undefined) return undefined;
      try {
        const { ticketKey, registered } = await this.#connection.request("login", {
          name,
          password,
        });
        this.#peer.setTicketKey(ticketKey, name);
        return { device: name, registered: registered ?? false };
      } catch (error) {
        const { error: code, message } = failure("login", error);
        output.event(loginFailed(code, message));
        if (!(error instanceof BadCredentialsError)) return undefined;
      }
    }
  }

  #onPush(push: Push): void {
    const { output } = this.#io;
    switch (push.event) {
      case "presence":
        output.event({
          event: "presence",
          device: push.device,
          state: push.state,
          message: `${visible(push.device)} is ${push.state}`,
        });
        return;
      case "message": {
        const kind = push.kind;
        const label = kind === "direct" ? "" : ` (${kind})`;
        output.event({
          event: "message",
          from: push.from,
          text: push.text,
          kind,
          message: `${visible(push.from)}${label}: ${visible(push.text)}`,
        });
        // A stored message leaves the server only once it has been shown here.
        if (push.kind === "offline") {
          void this.#connection.request("ack", { message: push.id }).catch(() => {});
        }
        return;
      }
      case "peer":
        this.#peer.addChat(
          push.device,
          { hostname: push.ip, port: push.udpPort },
          push.chatId,
          push.secret,
        );
        return;
      case "private":
        return this.#onPrivate(push);
      case "logout":
        this.#loggedOutByServer = true;
        for (const early of this.#early?.splice(0) ?? []) this.#onPush(early);
        output.event({
          event: "logout",
          reason: push.reason,
          message: `Logged out by the server: ${visible(push.message)}`,
        });
        return;
    }
  }

  #onPrivate(push: PushFields<"private">): void {
    const { device } = push;
    // A request withdrawn (the requester blocked this device) rather than a chat ended.
    const withdrawn = push.state === "ended" && !this.#peer.hasChat(device) &&
      this.#chatRequests.has(device);
    // A repeated request moves to the back: it is the newest now.
    if (push.state === "requested") this.#chatRequests.add(device);
    else this.#chatRequests.drop(device);
    if (push.state === "ended") this.#peer.endChat(device);
    const oldest = this.#chatRequests.oldest;
    const shown = visible(device);
    let message: string;
    switch (push.state) {
      case "requested":
        message = oldest === device
          ? `${shown} wants a private chat with you; answer y or n`
          : `${shown} wants a private chat with you; answer y ${shown} or n ${shown} ` +
            `(a bare y or n answers the oldest request, from ${visible(oldest ?? "")})`;
        break;
      case "accepted":
        message = `${shown} accepted your private chat; use: private ${shown} <text>`;
        break;
      case "declined":
        message = `${shown} declined your private chat`;
        break;
      case "ended":
        message = withdrawn
          ? `${shown} withdrew its private chat request`
          : `Private chat with ${shown} ended` + (push.reason === "left" ? ` (${shown} left)` : "");
        break;
    }
    const reason = "reason" in push ? push.reason : undefined;
    this.#io.output.event({
      event: "private",
      device,
      state: push.state,
      ...(reason !== undefined && { reason }),
      message,
    });
  }
}

function loginFailed(error: ErrorCode, message: string): EdgeEvent {
  return { event: "login", ok: false, error, message };
}
