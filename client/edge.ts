/**
 * The edge program: connect, bind the peer port, log in (asking again for the password
 * after a failure), register the UDP port, then read commands until `OUT` or end of
 * input. Server pushes and peer events are printed as they arrive; file transfers run
 * in the background so the prompt stays usable.
 *
 * @module
 */

import { visible } from "../internal/mod.ts";
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
import { completeLine } from "./completion.ts";
import type { LineInput, ReadOptions } from "./line_input.ts";
import type { CommandResult, EdgeEvent, Output } from "./output.ts";
import { PeerLink } from "./peer.ts";
import { barProgress, formatBytes, noProgress, type Progress } from "./progress.ts";
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
  /**
   * True when a person is typing at a terminal: prompts are shown, uploads run behind
   * the prompt with their progress on a status line, Ctrl-C reaches the session.
   */
  interactive: boolean;
  /** A progress bar for a transfer that holds the next command (commands from a pipe). */
  progress(label: string): Progress;
}

/** Exit codes of the edge; `interrupted` is a shell's code for Ctrl-C (128 + SIGINT). */
export const EXIT = { ok: 0, failed: 1, interrupted: 130 } as const;

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
  /** Commands running now that Ctrl-C cancels (uploads). */
  readonly #cancellable = new Map<AbortController, string>();
  /** Device names seen (presence, messages, device lists), for Tab completion. */
  readonly #devices = new Set<string>();
  /** While logging out waits for transfers: Ctrl-C presses so far, and what abandons them. */
  #logoutWait: { presses: number; abandon(): void } | undefined;
  /** Status lines made so far, to key each progress bar. */
  #bars = 0;
  #loggedOutByServer = false;
  /** Transfers were abandoned at logout: their late results are not printed. */
  #abandoned = false;
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
        message: `Received ${visible(e.path)} (${formatBytes(e.bytes)}) from ${visible(e.from)}`,
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
      progress: (label) => this.#progress(label, false),
    };
    this.#io.input.onInterrupt = () => this.#interrupted();
    const complete = (line: string) => completeLine(line, this.#devices);
    for (;;) {
      const next = await this.#read(`${device}> `, { complete });
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
      const spec = commandSpecOf(command);
      const background = spec.background === "always" ||
        (spec.background === "terminal" && this.#io.interactive);
      const cancel = spec.cancellable ? new AbortController() : undefined;
      const commandEnv: CommandEnv = {
        ...env,
        progress: (label) => this.#progress(label, background),
        ...(cancel && { signal: cancel.signal }),
      };
      const task = runCommand(commandEnv, command)
        .then((result) => {
          this.#learnDevices(result);
          if (!this.#abandoned) output.result(result);
        });
      if (cancel) {
        this.#cancellable.set(cancel, next.trim());
        void task.finally(() => this.#cancellable.delete(cancel));
      }
      if (background) {
        this.#transfers.add(task);
        void task.finally(() => this.#transfers.delete(task));
        continue;
      }
      await task;
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

  /**
   * Waits for transfers in flight, then logs out. At a terminal, Ctrl-C twice while it
   * waits abandons them and exits 130 at once: the connection closes without waiting for
   * the server (which may be what is stuck), and the server logs the device out for it.
   */
  async #logout(env: CommandEnv): Promise<number> {
    const count = this.#transfers.size;
    if (count > 0) {
      const { promise: abandoned, resolve: abandon } = Promise.withResolvers<"abandoned">();
      this.#logoutWait = { presses: 0, abandon: () => abandon("abandoned") };
      this.#io.output.info(
        `Waiting for ${transfers(count)} to finish before logging out` +
          (this.#io.interactive ? " (Ctrl-C twice abandons them)" : ""),
      );
      const ended = await Promise.race([Promise.all(this.#transfers), abandoned]);
      this.#logoutWait = undefined;
      if (ended === "abandoned") {
        this.#abandoned = true;
        this.#io.output.info(
          `Abandoned ${transfers(this.#transfers.size)}; logged out without waiting for them`,
        );
        return EXIT.interrupted;
      }
    }
    const result = await runCommand(env, { cmd: "OUT" });
    this.#io.output.result(result);
    return result.ok ? EXIT.ok : EXIT.failed;
  }

  /**
   * Ctrl-C at the terminal with no typed line (the editor clears a typed one itself): it
   * cancels the uploads running, or, while logging out waits for transfers, the second
   * press abandons them. It never logs out.
   */
  #interrupted(): void {
    const { output } = this.#io;
    const wait = this.#logoutWait;
    if (wait) {
      if (++wait.presses >= 2) return wait.abandon();
      output.info(
        `Still waiting for ${transfers(this.#transfers.size)}; ` +
          "press Ctrl-C again to abandon them and log out",
      );
      return;
    }
    if (this.#cancellable.size > 0) {
      for (const [cancel, line] of this.#cancellable) {
        if (cancel.signal.aborted) continue;
        cancel.abort();
        output.info(`Cancelling ${visible(line)} (Ctrl-C); the server is told to drop it`);
      }
      return;
    }
    output.info("Nothing to cancel. To log out, type OUT or press Ctrl-D on an empty line.");
  }

  /**
   * A progress bar: on a status line at a terminal; with commands from a pipe, what the
   * I/O gives for a command that holds the next one, none for one behind it.
   */
  #progress(label: string, background: boolean): Progress {
    const { input, output, interactive } = this.#io;
    if (output.json) return noProgress;
    if (!interactive) return background ? noProgress : this.#io.progress(label);
    const key = `bar-${++this.#bars}`;
    return barProgress(label, (bar) => input.status(key, bar));
  }

  /** Device names in a result (`AED`, `whoelse`), for Tab completion. */
  #learnDevices(result: CommandResult): void {
    if (!result.ok || !("devices" in result)) return;
    for (const d of result.devices) this.#devices.add(typeof d === "string" ? d : d.name);
  }

  /** Reads a line, or learns that the connection is gone. */
  #read(prompt: string, options: ReadOptions = {}): Promise<string | null | { lost: string }> {
    return Promise.race([this.#io.input.read(prompt, options), this.#lost]);
  }

  /**
   * Asks for the name once and the password until success; `undefined` when it gave up.
   * `registered` says whether this login created the account.
   */
  async #login(): Promise<{ device: string; registered: boolean } | undefined> {
    const { output } = this.#io;
    const ask = async (prompt: string, secret: boolean) => {
      const line = await this.#read(prompt, { secret, unrecorded: true });
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
        if (push.state === "online") this.#devices.add(push.device);
        output.event({
          event: "presence",
          device: push.device,
          state: push.state,
          message: `${visible(push.device)} is ${push.state}`,
        });
        return;
      case "message": {
        this.#devices.add(push.from);
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
          : endedBy(shown, push.reason);
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

/** Says who ended a private chat with `device` (shown), and how. */
function endedBy(device: string, reason: string | undefined): string {
  switch (reason) {
    case "stopped":
      return `${device} ended the private chat with you`;
    case "left":
      return `Private chat with ${device} ended: ${device} left`;
    case "blocked":
      return `${device} blocked you, which ended your private chat`;
    default:
      return `Private chat with ${device} ended`;
  }
}

/** `1 transfer`, `2 transfers`. */
function transfers(count: number): string {
  return `${count} transfer${count === 1 ? "" : "s"}`;
}

function loginFailed(error: ErrorCode, message: string): EdgeEvent {
  return { event: "login", ok: false, error, message };
}
