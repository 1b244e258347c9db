/**
 * The edge program: connect (within the connect timeout), bind the peer port, log in
 * (asking again for the password after a failure), register the UDP port, then read
 * commands until `OUT` or end of input. Server pushes and peer events are printed as they
 * arrive; file transfers run in the background so the prompt stays usable. When the
 * connection drops, the {@linkcode ServerLink} reconnects and logs in again by itself
 * (SPEC §1 "Staying connected"); peer transfers go on meanwhile.
 *
 * @module
 */

import { type Clock, isoSeconds, visible } from "../internal/mod.ts";
import { BadCredentialsError } from "../protocol/errors.ts";
import type { Push, PushFields } from "../protocol/messages.ts";
import { ChatRequests } from "./chat_requests.ts";
import { parseCommand } from "./command_parser.ts";
import type { CommandEnv } from "./commands/command.ts";
import { helpText } from "./commands/mod.ts";
import { parseAnswer } from "./commands/private_chat.ts";
import { EdgeConnection } from "./connection.ts";
import { completeLine } from "./completion.ts";
import type { LineInput, ReadOptions } from "./line_input.ts";
import type { CommandReport, CommandResult, EdgeErrorCode, EdgeEvent, Output } from "./output.ts";
import { PeerLink } from "./peer.ts";
import { loginWithKey } from "./key_login.ts";
import { barProgress, formatBytes, noProgress, type Progress } from "./progress.ts";
import { commandSpecOf, failure, runCommand } from "./run_command.ts";
import { isFinalLogout, type LinkEnd, type LinkEvent, ServerLink } from "./server_link.ts";

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
  /** Time the connect and the hello have together (ms); default `CONNECT_TIMEOUT_MS`. */
  connectTimeoutMs?: number;
  /** Reconnect when the connection drops (default true; `--no-reconnect` says false). */
  reconnect?: boolean;
  /** The password, read from `--password-file`: then it is never asked for. */
  password?: string;
  /** Times the connect timeout, keepalive and reconnect waits; the system clock by default. */
  clock?: Clock;
  /** Jitter of the reconnect waits; `Math.random` by default. */
  random?: () => number;
  /** The deployment's CA certificate (PEM text): connect with TLS (SPEC §7). */
  tlsCa?: string;
  /** The device key (`iotnet keygen`): log in by signing, no password asked (SPEC §7). */
  deviceKey?: CryptoKey;
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
  const connect = () =>
    EdgeConnection.connect({
      hostname: options.serverHost,
      port: options.serverPort,
      ...(options.connectTimeoutMs !== undefined && { timeoutMs: options.connectTimeoutMs }),
      ...(options.clock !== undefined && { clock: options.clock }),
      ...(options.tlsCa !== undefined && { tlsCa: options.tlsCa }),
    });
  let connection: EdgeConnection;
  try {
    connection = await connect();
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
  const session = new EdgeSession(options, io, connect, peer);
  try {
    return await session.run(connection);
  } finally {
    session.close();
    await peer.close();
  }
}

/** The credentials of the first login, used again on reconnecting: a password or a key. */
type Credentials = { name: string; password: string } | { name: string; key: CryptoKey };

/** One logged-in (or logging-in) edge. */
class EdgeSession {
  readonly #options: EdgeOptions;
  readonly #io: EdgeIO;
  readonly #connect: () => Promise<EdgeConnection>;
  readonly #link: ServerLink;
  readonly #peer: PeerLink;
  /** Settles when the link gives up for good. */
  readonly #ended: Promise<{ ended: LinkEnd }>;
  /** Set by the first login; used again on reconnecting. */
  #credentials: Credentials | undefined;
  /** Command lines read so far (`seq` of background results). */
  #commandsRead = 0;
  /** Whether a command failed (scripted use then exits 1). */
  #anyFailed = false;
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
  /** Transfers were abandoned at logout: their late results are not printed. */
  #abandoned = false;
  /** Pushes that arrive before the welcome is shown wait here, to keep output in order. */
  #early: { push: Push; via: EdgeConnection }[] | undefined = [];

  constructor(
    options: EdgeOptions,
    io: EdgeIO,
    connect: () => Promise<EdgeConnection>,
    peer: PeerLink,
  ) {
    this.#options = options;
    this.#io = io;
    this.#connect = connect;
    this.#peer = peer;
    this.#link = new ServerLink({
      connect,
      login: (connection) => this.#loginAgain(connection),
      reconnect: options.reconnect ?? true,
      onPush: (push, via) => this.#pushed(push, via),
      onEvent: (event) => this.#onLinkEvent(event),
      ...(options.clock !== undefined && { clock: options.clock }),
      ...(options.random !== undefined && { random: options.random }),
    });
    this.#ended = this.#link.ended.then((ended) => ({ ended }));
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

  /**
   * Logs in over `connection`, then reads commands until the device logs out, input
   * ends, or the link to the server gives up.
   *
   * @returns the process exit code.
   */
  async run(first: EdgeConnection): Promise<number> {
    const { output } = this.#io;
    const login = await this.#login(first);
    if (login === undefined) return EXIT.failed;
    const { device, registered } = login;
    output.event({
      event: "login",
      ok: true,
      device,
      registered,
      message: registered ? `Welcome, ${device}! Your account was created.` : `Welcome, ${device}!`,
    });
    // The command list is for a person; `help` shows it anywhere.
    if (this.#io.interactive) output.info(helpText());
    for (const { push, via } of this.#early ?? []) this.#onPush(push, via);
    this.#early = undefined;
    const env: CommandEnv = {
      connection: this.#link,
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
      if (next !== null && typeof next === "object") return this.#gaveUp(next.ended);
      if (next === null) return await this.#logout(env);
      if (next.trim() === "") continue;
      const seq = ++this.#commandsRead;
      const oldest = this.#chatRequests.oldest;
      const answer = oldest === undefined ? undefined : parseAnswer(next, oldest);
      if (answer) {
        this.#report(await runCommand(env, { cmd: "ANSWER", ...answer }));
        continue;
      }
      const parsed = parseCommand(next);
      if (!parsed.ok) {
        this.#report({ cmd: parsed.cmd, ok: false, error: parsed.error, message: parsed.message });
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
          // A late result says which command it answers.
          if (!this.#abandoned) {
            this.#report(background ? { ...result, seq, command: next.trim() } : result);
          }
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
    }
  }

  /** Stops reconnecting and closes the connection. */
  close(): void {
    this.#link.close();
  }

  /** Prints a command's result and remembers a failure for the exit code. */
  #report(result: CommandReport): void {
    if (!result.ok) this.#anyFailed = true;
    this.#io.output.result(result);
  }

  /** The exit code of a session that ran to its end: scripts learn whether a command failed. */
  #exitCode(lastOk: boolean): number {
    return lastOk && !(this.#anyFailed && !this.#io.interactive) ? EXIT.ok : EXIT.failed;
  }

  /** Says why the link to the server gave up (unless the server already said) and fails. */
  #gaveUp(end: LinkEnd): number {
    if (end.logout) {
      // The server said why (an idle timeout): its logout push was printed.
      return EXIT.failed;
    }
    this.#io.output.event({
      event: "logout",
      reason: end.refused ? "login_refused" : "connection_lost",
      message: end.refused ? end.reason : `Disconnected: ${end.reason}`,
    });
    return EXIT.failed;
  }

  #onLinkEvent(event: LinkEvent): void {
    const { output } = this.#io;
    switch (event.type) {
      case "lost":
        output.event({
          event: "connection",
          state: "lost",
          reason: event.reason,
          message: `Lost the connection to the server: ${event.reason}` +
            (event.reconnecting ? "; reconnecting" : ""),
        });
        return;
      case "retrying":
        output.info(
          `Reconnecting failed (attempt ${event.attempt}): ${event.reason}; ` +
            `next attempt in ${Math.round(event.delayMs / 1000)} s`,
        );
        return;
      case "restored":
        output.event({
          event: "connection",
          state: "restored",
          message: `Reconnected to the server; logged in again as ${this.#credentials?.name ?? ""}`,
        });
        return;
    }
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
    this.#report(result);
    return this.#exitCode(result.ok);
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

  /** Reads a line, or learns that the link to the server gave up. */
  #read(prompt: string, options: ReadOptions = {}): Promise<string | null | { ended: LinkEnd }> {
    return Promise.race([this.#io.input.read(prompt, options), this.#ended]);
  }

  /**
   * Logs in over `first`: asks for the name, then the password until success (a
   * `--password-file` password is not asked for, and not tried twice). A connection lost
   * before login completes (the server's login deadline) is said so with its reason; on a
   * terminal a fresh connection is opened and the name asked again, so what the person
   * types next goes to iotnet, not to the shell. `undefined` when it gave up.
   */
  async #login(
    first: EdgeConnection,
  ): Promise<{ device: string; registered: boolean } | undefined> {
    const { output } = this.#io;
    let connection = first;
    for (;;) {
      const outcome = await this.#loginOver(connection);
      if (outcome === undefined || "device" in outcome) return outcome;
      output.event(loginFailed("disconnected", `Disconnected before login: ${outcome.lost}`));
      if (!this.#io.interactive) return undefined;
      try {
        connection = await this.#connect();
      } catch (error) {
        output.event(loginFailed("offline", (error as Error).message));
        return undefined;
      }
      output.info("Connected again; log in.");
    }
  }

  /**
   * One attempt to log in over `connection`; `{ lost }` when it closed first.
   */
  async #loginOver(
    connection: EdgeConnection,
  ): Promise<{ device: string; registered: boolean } | { lost: string } | undefined> {
    const { output } = this.#io;
    // Before the login request goes out: stored messages follow its udp_port reply.
    connection.onPush = (push) => this.#pushed(push, connection);
    const lost = connection.closed.then((reason) => ({ lost: reason }));
    const ask = async (prompt: string, secret: boolean) => {
      const read = this.#io.input.read(prompt, { secret, unrecorded: true });
      const line = await Promise.race([read, lost]);
      if (line === null) {
        output.event(loginFailed("bad_args", "input ended before login completed"));
        connection.close();
      }
      return line;
    };
    const typed = await ask("Device name: ", false);
    if (typed === null || typeof typed === "object") return typed ?? undefined;
    const name = typed.trim();
    const key = this.#options.deviceKey;
    for (;;) {
      const given = key === undefined ? this.#options.password : undefined;
      if (key !== undefined) {
        // Signing again would give the same answer: one try, then stop.
        try {
          await this.#loginWith(connection, { name, key });
        } catch (error) {
          if (connection.isClosed) return { lost: (await lost).lost };
          const { error: code, message } = failure("login", error);
          output.event(loginFailed(code, message));
          connection.close();
          return undefined;
        }
        this.#credentials = { name, key };
        this.#link.attach(connection);
        return { device: name, registered: false };
      }
      const password = given ?? await ask("Password: ", true);
      if (password === null || typeof password === "object") return password ?? undefined;
      let registered: boolean;
      try {
        ({ registered } = await this.#loginWith(connection, { name, password }));
      } catch (error) {
        if (connection.isClosed) return { lost: (await lost).lost };
        const { error: code, message } = failure("login", error);
        output.event(loginFailed(code, message));
        if (!(error instanceof BadCredentialsError) || given !== undefined) {
          connection.close();
          return undefined;
        }
        continue;
      }
      this.#credentials = { name, password };
      this.#link.attach(connection);
      return { device: name, registered };
    }
  }

  /** Logs in with `credentials` and registers the peer port. */
  async #loginWith(
    connection: EdgeConnection,
    credentials: Credentials,
  ): Promise<{ registered: boolean }> {
    const { ticketKey, registered = false } = "key" in credentials
      ? { ...await loginWithKey(connection, credentials), registered: false }
      : await connection.request("login", credentials);
    this.#peer.setTicketKey(ticketKey, credentials.name);
    await connection.request("udp_port", {
      port: this.#options.advertisedUdpPort ?? this.#peer.port,
    });
    return { registered };
  }

  /** Logs in again over a new connection, as the first login did. */
  async #loginAgain(connection: EdgeConnection): Promise<void> {
    const credentials = this.#credentials;
    if (credentials === undefined) throw new Error("no login to repeat");
    await this.#loginWith(connection, credentials);
  }

  /** A push from the server over `via`: shown now, or kept until the welcome is shown. */
  #pushed(push: Push, via: EdgeConnection): void {
    if (this.#early) this.#early.push({ push, via });
    else this.#onPush(push, via);
  }

  #onPush(push: Push, via: EdgeConnection): void {
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
        const sentAt = push.kind === "offline" ? isoSeconds(push.sentAt) : undefined;
        output.event({
          event: "message",
          from: push.from,
          text: push.text,
          kind,
          ...(sentAt !== undefined && { sentAt }),
          message: `${visible(push.from)}${label}${sentAt ? ` at ${sentAt}` : ""}: ${
            visible(push.text)
          }`,
        });
        // A stored message leaves the server only once it has been shown here.
        if (push.kind === "offline") {
          void via.request("ack", { message: push.id }).catch(() => {});
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
        // A restart or a login deadline closes the connection, which says why; only a
        // logout for good (idle, protocol) is shown here, and the edge then ends.
        if (!isFinalLogout(push.reason)) return;
        for (const early of this.#early?.splice(0) ?? []) this.#onPush(early.push, early.via);
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

function loginFailed(error: EdgeErrorCode, message: string): EdgeEvent {
  return { event: "login", ok: false, error, message };
}
