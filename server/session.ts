/**
 * One client connection. Its life is a state machine:
 *
 * ```
 * greeting --hello--> authenticating --login--> checking --ok--> registering
 *                            ^----------- wrong password -------'
 * registering --udp_port--> active --logout/drop/timeout--> closed
 * ```
 *
 * A peer that has not logged in is a stranger, held to tighter rules: frames of at most
 * `MAX_PRELOGIN_FRAME_BYTES`, no DATA frames, the login deadline; and until login completes
 * (udp_port) at most `MAX_REFUSED_BEFORE_LOGIN` requests refused for coming out of turn
 * (anything but hello, login and udp_port, in that order) before it is told and closed.
 * The server caps how many strangers it holds, in all and per address
 * (`server/admission.ts`).
 *
 * The read loop decodes frames and dispatches requests without waiting for them, so one
 * slow command never holds up the next. DATA frames are awaited into their stream's sink,
 * which is what gives uploads backpressure: the connection takes a turn to take in upload
 * bytes (`server/upload_turns.ts`) when they arrive, and while it waits for one it reads
 * nothing more; the wait ends when the session closes. Between frames it reads on, so its
 * other requests and its close are noticed while its uploads wait for bytes. Writes are
 * queued and coalesced with a single write in flight; a peer that stops reading is dropped
 * once its queue passes a cap.
 *
 * @module
 */

import { decodeMessage, encodeMessage, encodeResponse } from "../protocol/codec.ts";
import {
  AlreadyActiveError,
  BadArgumentsError,
  BusyError,
  FrameTooLargeError,
  IoError,
  NotLoggedInError,
  ProtocolError,
  RequestError,
  requestErrorOf,
  UnsupportedVersionError,
} from "../protocol/errors.ts";
import { FrameDecoder } from "../protocol/frame.ts";
import {
  deviceNameProblem,
  MAX_FRAME_BYTES,
  MAX_OPEN_UPLOADS,
  MAX_PASSWORD_BYTES,
  MAX_PRELOGIN_FRAME_BYTES,
  MAX_QUEUED_OUTBOUND_BYTES,
  MAX_REFUSED_BEFORE_LOGIN,
  PROTOCOL_NAME,
  PROTOCOL_VERSION,
} from "../protocol/limits.ts";
import type { Message, Push, PushFields, Request, RequestArgs } from "../protocol/messages.ts";
import { type BufferPool, SilenceWatch, type TimerId, writeAll } from "../internal/mod.ts";
import type { AdmissionSlot } from "./admission.ts";
import type { Authenticator, LoginOutcome } from "./auth.ts";
import { KEY_LOGIN_CHALLENGE_BYTES, toBase64, verifyKeyLogin } from "../tls/device_key.ts";
import type { PasswordHasher } from "./password_hash.ts";
import { HANDLERS, isCommandOp } from "./commands/mod.ts";
import { announcePresence } from "./presence.ts";
import type { RateLimit } from "./rate_limit.ts";
import { registerAccount } from "./registration.ts";
import { loginFailedEvent } from "./server_event.ts";
import type { CommandContext, ServerContext, StreamSink } from "./context.ts";
import type { UploadTurn } from "./upload_turns.ts";

/** Where a session is in its life. */
export type SessionState =
  | { phase: "greeting" }
  | { phase: "authenticating" }
  | { phase: "checking" }
  | { phase: "registering"; device: string }
  | { phase: "active"; device: string; since: number }
  | { phase: "closed" };

/** Read buffer of a session taking in no upload bytes: small, as most sessions are idle. */
const IDLE_READ_BUFFER_BYTES = 4 * 1024;
/**
 * Read buffer while upload bytes stream in (under the turn): large reads keep uploads
 * fast. The server's pool of them (`SessionHost.readBuffers`) passes them on from one
 * session holding a turn to the next.
 */
export const UPLOAD_READ_BUFFER_BYTES = 256 * 1024;
/** Longest a closing session waits for its queued output to be written. */
const CLOSE_FLUSH_MS = 2_000;
/** Streams whose trailing frames are still being dropped; more is a protocol error. */
const MAX_ABANDONED_STREAMS = 16;

/** The byte stream a session runs over: the shape of `Deno.Conn`. */
export interface SessionConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}

/**
 * A request the session's phase does not allow (out of turn): carries the refusal the
 * request is answered with, and marks it, as strangers get only a few.
 */
class OutOfTurnError extends Error {
  override name = "OutOfTurnError";
  /** What the request is answered with. */
  readonly refusal: RequestError;

  /** @param refusal what the request is answered with. */
  constructor(refusal: RequestError) {
    super(refusal.message, { cause: refusal });
    this.refusal = refusal;
  }
}

/** Why a logged-in device left, as `iotnet_logouts_total` counts it. */
export type LeaveCode =
  | "logout"
  | "disconnect"
  | "protocol"
  | "idle"
  | "silent"
  | "login_timeout"
  | "slow_consumer"
  | "shutdown";

/** What a handler asks of the session once its reply is queued: close, maybe saying why. */
interface CloseAfterReply {
  /** For the server's log. */
  reason: string;
  /** For the metrics. */
  code: LeaveCode;
  /** Told to the peer as a `logout` push, if given. */
  notice?: Push;
}

/** Everything a session needs from the server that owns it. */
export interface SessionHost extends ServerContext {
  readonly auth: Authenticator;
  /** The hasher of new accounts' passwords. */
  readonly hasher: PasswordHasher;
  /** Read buffers of sessions holding an upload turn ({@linkcode UPLOAD_READ_BUFFER_BYTES}). */
  readonly readBuffers: BufferPool;
  /** Accounts registered per address (`--registrations-per-minute`). */
  readonly registrations: RateLimit;
  /** Called once when the session has fully closed. */
  onClosed(session: Session): void;
}

/** One connection from an edge device. */
export class Session {
  readonly #host: SessionHost;
  readonly #conn: SessionConn;
  readonly ip: string;
  readonly #admission: AdmissionSlot;
  #state: SessionState = { phase: "greeting" };
  /** Strangers' frames are small; raised to `MAX_FRAME_BYTES` at login. */
  readonly #decoder = new FrameDecoder({ maxFrameBytes: MAX_PRELOGIN_FRAME_BYTES });
  readonly #streams = new Map<number, StreamSink>();
  readonly #abandoned = new Set<number>();
  /** This connection's turn to take in upload bytes. */
  readonly #uploadTurn: UploadTurn;
  /** Aborted when the session closes: ends a wait for the upload turn. */
  readonly #whenClosed = new AbortController();
  /** Requests refused out of turn before login. */
  #refusedBeforeLogin = 0;
  #outbound: Uint8Array[] = [];
  #outboundBytes = 0;
  /**
   * The write loop, while one runs: frames queued meanwhile go out together in its next
   * write. A loop of its own rather than `Coalesced` (whose runs start a microtask later and
   * cost promises of their own): this runs for every frame to every connection, and the load
   * test's SCS p99 was better with it (docs/DECISIONS.md, "Server structure").
   */
  #writing: Promise<void> | undefined;
  #loginTimer: TimerId | undefined;
  /** The challenge a key login on this connection must sign; cleared when used. */
  #keyLoginChallenge: Uint8Array | undefined;
  #idleTimer: TimerId | undefined;
  #frameTimer: TimerId | undefined;
  /** Notices a peer gone silent: pings it, and closes it after three keepalive intervals. */
  readonly #silence: SilenceWatch;
  /** Whether the read loop waits for bytes (only then is silence the peer's doing). */
  #awaitingBytes = false;
  #closing = false;
  /** Set by a handler whose reply must be the last thing sent. */
  #closeAfterReply: CloseAfterReply | undefined;
  /** Key this device's peers' tickets are signed with; given to the device at login. */
  readonly #ticketKey = crypto.getRandomValues(new Uint8Array(32));

  /**
   * @param host the server.
   * @param conn the connection.
   * @param admission the connection's place among those the server holds; its address.
   */
  constructor(host: SessionHost, conn: SessionConn, admission: AdmissionSlot) {
    this.#host = host;
    this.#conn = conn;
    this.ip = admission.ip;
    this.#admission = admission;
    // A quiet upload holds no buffer either (StreamSink.rest).
    this.#uploadTurn = host.uploadTurns.forConnection(() => {
      for (const sink of this.#streams.values()) sink.rest();
    });
    this.#loginTimer = host.clock.setTimeout(
      () =>
        this.#expire("login_timeout", `no login within ${host.settings.loginDeadlineMs / 1000} s`),
      host.settings.loginDeadlineMs,
    );
    const keepaliveMs = host.settings.keepaliveMs;
    this.#silence = new SilenceWatch({
      clock: host.clock,
      intervalMs: keepaliveMs,
      onQuiet: () => this.push({ t: "push", event: "keepalive" }),
      onDead: (silentMs) =>
        this.#expire(
          "silent",
          `nothing heard from the device for ${Math.round(silentMs / 1000)} s ` +
            `(keepalive ${keepaliveMs / 1000} s); logged out`,
        ),
      // Silence while a frame is being served (an upload waiting for its turn) is ours.
      excused: () => !this.#awaitingBytes,
    });
  }

  /** The session's state. */
  get state(): SessionState {
    return this.#state;
  }

  /** The device name once logged in. */
  get device(): string | undefined {
    const s = this.#state;
    return s.phase === "registering" || s.phase === "active" ? s.device : undefined;
  }

  /** Reads and serves the connection until it ends. Never throws. */
  async run(): Promise<void> {
    const decoder = this.#decoder;
    const { readBuffers } = this.#host;
    const idle = new Uint8Array(IDLE_READ_BUFFER_BYTES);
    let upload: Uint8Array | undefined;
    let n: number | null = 0;
    let reason = "closed the connection";
    let code: LeaveCode = "disconnect";
    try {
      for (;;) {
        // The big buffer is for a connection holding the upload turn whose bytes keep
        // coming (the last read filled the small one): one that has gone quiet waits for
        // its next bytes with the small buffer, so a half-finished upload holds 4 KiB.
        const turn = this.#keepsUploadTurn();
        if (turn && n >= IDLE_READ_BUFFER_BYTES) {
          upload ??= readBuffers.take();
        } else if (upload) {
          readBuffers.give(upload);
          upload = undefined;
        }
        const buffer = upload ?? idle;
        this.#awaitingBytes = true;
        n = await this.#conn.read(buffer);
        this.#awaitingBytes = false;
        this.#silence.heard();
        if (n === null) {
          if (decoder.midFrame) reason = "closed the connection in the middle of a frame";
          break;
        }
        // Frames are views into `buffer`: every one is consumed before the next read.
        for (const frame of decoder.frames(buffer.subarray(0, n))) {
          if (frame.kind === "data") await this.#onData(frame.stream, frame.bytes);
          else this.#onMessage(decodeMessage(frame.body));
        }
        this.#watchFrame(decoder.midFrame);
      }
    } catch (error) {
      if (error instanceof ProtocolError) {
        const what = error instanceof FrameTooLargeError && !this.#loggedIn
          ? `${error.message} before login`
          : error.message;
        reason = `sent a bad frame (${what})`;
        code = "protocol";
        this.push({
          t: "push",
          event: "logout",
          reason: "protocol",
          message: `protocol error: ${what}`,
        });
      } else if (!this.#closing) {
        reason = `connection failed (${(error as Error).message})`;
      }
    }
    if (upload) readBuffers.give(upload);
    await this.close(reason, code);
  }

  /** Whether login has succeeded (the phase is registering or active). */
  get #loggedIn(): boolean {
    return this.device !== undefined;
  }

  /**
   * Before a read: the upload turn stays only while an upload is open, and then only if
   * bytes come in time (the idle watch starts).
   *
   * @returns whether the session holds the turn.
   */
  #keepsUploadTurn(): boolean {
    if (this.#streams.size === 0) this.#uploadTurn.release();
    else this.#uploadTurn.awaitBytes();
    return this.#uploadTurn.held;
  }

  /** Queues a message; drops the session if the peer has stopped reading. */
  push(message: Message): void {
    if (this.#state.phase === "closed") return;
    this.#queue(encodeMessage(message));
  }

  /** Queues an encoded frame (shared by every recipient of a broadcast). */
  #queue(bytes: Uint8Array): void {
    if (this.#state.phase === "closed") return;
    this.#outbound.push(bytes);
    this.#outboundBytes += bytes.length;
    if (this.#outboundBytes > MAX_QUEUED_OUTBOUND_BYTES) {
      this.#outbound = [];
      this.#outboundBytes = 0;
      void this.close(
        `stopped reading (over ${MAX_QUEUED_OUTBOUND_BYTES} bytes queued)`,
        "slow_consumer",
      );
      return;
    }
    this.#writing ??= this.#writeLoop();
  }

  async #writeLoop(): Promise<void> {
    try {
      while (this.#outbound.length > 0) {
        const batch = concat(this.#outbound, this.#outboundBytes);
        this.#outbound = [];
        this.#outboundBytes = 0;
        await writeAll(this.#conn, batch);
      }
    } catch {
      this.#outbound = [];
      this.#outboundBytes = 0;
      this.#closing = true;
      this.#conn.close();
    } finally {
      this.#writing = undefined;
    }
  }

  /**
   * Ends the session: aborts open uploads, releases the device name, closes the socket
   * after queued messages are written. Safe to call more than once.
   *
   * @param reason for the server's log.
   * @param code why, for the metrics (when a logged-in device leaves).
   */
  async close(reason: string, code: LeaveCode = "disconnect"): Promise<void> {
    const state = this.#state;
    if (state.phase === "closed") return;
    this.#state = { phase: "closed" };
    this.#closing = true;
    this.#whenClosed.abort(new Error("the session closed"));
    this.#admission.release();
    this.#uploadTurn.release();
    const { clock, active, log } = this.#host;
    if (this.#loginTimer !== undefined) clock.clearTimeout(this.#loginTimer);
    if (this.#idleTimer !== undefined) clock.clearTimeout(this.#idleTimer);
    if (this.#frameTimer !== undefined) clock.clearTimeout(this.#frameTimer);
    this.#silence.stop();
    const sinks = [...this.#streams.values()];
    this.#streams.clear();
    await Promise.all(sinks.map((sink) => sink.abort(`the device ${reason}`)));
    if (state.phase === "registering" || state.phase === "active") {
      active.release(state.device);
      if (state.phase === "active") {
        this.#host.metrics.logouts.inc({ reason: code });
        this.#leave(state, { detail: reason, code });
      }
    } else {
      log(`connection from ${this.ip} ended before login (${reason})`);
    }
    await this.#drainOutbound();
    try {
      this.#conn.close();
    } catch {
      // already closed by the peer
    }
    this.#host.onClosed(this);
  }

  /**
   * Waits for queued output to be written, but no longer than {@linkcode CLOSE_FLUSH_MS}:
   * a peer that has stopped reading must not hold up its own close (or the server's).
   */
  async #drainOutbound(): Promise<void> {
    const { clock } = this.#host;
    let timer: TimerId | undefined;
    const gaveUp = new Promise<void>((
      resolve,
    ) => (timer = clock.setTimeout(resolve, CLOSE_FLUSH_MS)));
    const drained = (async () => {
      while (this.#writing) await this.#writing;
    })();
    await Promise.race([drained, gaveUp]);
    if (timer !== undefined) clock.clearTimeout(timer);
  }

  /**
   * A frame that has started must arrive whole within the frame deadline, so a peer
   * that trickles a byte now and then cannot hold the connection forever.
   */
  #watchFrame(midFrame: boolean): void {
    const { clock, settings } = this.#host;
    if (!midFrame) {
      if (this.#frameTimer !== undefined) clock.clearTimeout(this.#frameTimer);
      this.#frameTimer = undefined;
      return;
    }
    this.#frameTimer ??= clock.setTimeout(
      () =>
        this.#expire(
          "protocol",
          `a frame took longer than ${settings.frameDeadlineMs / 1000} s to arrive`,
        ),
      settings.frameDeadlineMs,
    );
  }

  async #deliverStoredMessages(device: string): Promise<void> {
    for (const m of await this.#host.mailbox.pending(device)) {
      this.push({
        t: "push",
        event: "message",
        from: m.sender,
        text: m.text,
        kind: "offline",
        id: m.id,
        sentAt: m.sentAt,
      });
    }
  }

  /** What a device's leaving means to the others: history, presence, private chats. */
  #leave(
    { device, since }: { device: string; since: number },
    why: { detail: string; code: LeaveCode },
  ): void {
    const host = this.#host;
    const until = host.clock.now();
    void host.presenceHistory.recordVisit(device, { since, until, reason: why.code, ip: this.ip })
      .catch((error) => host.log(`cannot record that ${device} was seen: ${error}`));
    host.record({ kind: "logout", device, reason: why.code, detail: why.detail });
    this.#announce(device, "offline");
    for (const partner of host.privateChats.leave(device)) {
      host.active.get(partner)?.deliver(
        encodeMessage({ t: "push", event: "private", device, state: "ended", reason: "left" }),
      );
    }
  }

  /** Tells the other devices that `device` came or went. */
  #announce(device: string, state: PushFields<"presence">["state"]): void {
    announcePresence(this.#host, device, state).catch((error) =>
      this.#host.log(`cannot tell the others that ${device} is ${state}: ${oneLine(error)}`)
    );
  }

  #expire(reason: PushFields<"logout">["reason"], message: string): void {
    this.push({ t: "push", event: "logout", reason, message });
    const leave = reason === "idle" || reason === "silent" || reason === "login_timeout"
      ? reason
      : "protocol";
    void this.close(message, leave);
  }

  #onMessage(message: Message): void {
    if (message.t !== "req") {
      throw new ProtocolError(`a client may only send requests, not ${message.t}`);
    }
    void this.#serve(message);
  }

  async #serve(request: Request): Promise<void> {
    const started = performance.now();
    const metrics = this.#host.metrics;
    try {
      const result = await this.#handle(request);
      this.#queue(encodeResponse(request.id, result));
      metrics.command(request.op, "ok", (performance.now() - started) / 1000);
    } catch (error) {
      const outOfTurn = error instanceof OutOfTurnError;
      const refusal = outOfTurn ? error.refusal : error;
      const result = refusal instanceof RequestError ? refusal.code : "internal";
      metrics.command(request.op, result, (performance.now() - started) / 1000);
      this.#pushFailure(request, refusal);
      if (outOfTurn && this.#state.phase !== "active") this.#countRefusalBeforeLogin();
    }
    // Stored messages follow the udp_port reply; each stays stored until acked.
    if (request.op === "udp_port" && this.#state.phase === "active") {
      const device = this.#state.device;
      await this.#deliverStoredMessages(device).catch((error) =>
        this.#host.log(`cannot deliver the messages stored for ${device}: ${oneLine(error)}`)
      );
    }
    const closing = this.#closeAfterReply;
    if (closing !== undefined) {
      if (closing.notice) this.push(closing.notice);
      await this.close(closing.reason, closing.code);
    }
  }

  /**
   * A stranger that keeps sending requests out of turn is told and closed after
   * `MAX_REFUSED_BEFORE_LOGIN` of them: it cannot fill the log with refusals.
   */
  #countRefusalBeforeLogin(): void {
    if (++this.#refusedBeforeLogin < MAX_REFUSED_BEFORE_LOGIN) return;
    const n = this.#refusedBeforeLogin;
    this.#closeAfterReply ??= {
      reason: `had ${n} requests refused before login`,
      code: "protocol",
      notice: {
        t: "push",
        event: "logout",
        reason: "protocol",
        message: `${n} requests were refused before login; say hello and log in first`,
      },
    };
  }

  #pushFailure(request: Request, error: unknown): void {
    // Requests read before a close are answered by nobody, and logged by nobody.
    if (this.#state.phase === "closed") return;
    if (error instanceof RequestError) {
      if (request.op !== "login" && request.op !== "key_login") {
        this.#host.log(
          `${this.device ?? this.ip}: ${request.op} refused (${error.code}): ${error.message}`,
        );
      }
      this.push({
        t: "res",
        id: request.id,
        ok: false,
        error: error.code,
        message: error.message,
      });
    } else {
      // One line, never a stack: the request came from the network.
      const device = this.device ?? this.ip;
      this.#host.log(`error serving ${request.op} for ${device}: ${oneLine(error)}`);
      this.push({
        t: "res",
        id: request.id,
        ok: false,
        error: "internal",
        message: "the server failed to carry out the command; see its log",
      });
    }
  }

  async #handle(request: Request): Promise<Record<string, unknown>> {
    const state = this.#state;
    switch (request.op) {
      case "hello":
        return this.#hello(request);
      case "login":
        return await this.#login(request);
      case "key_challenge":
        return this.#keyChallenge();
      case "key_login":
        return await this.#keyLogin(request);
      case "udp_port":
        return this.#registerUdpPort(request);
      case "logout":
        if (state.phase !== "active") break;
        this.#closeAfterReply = { reason: "logged out", code: "logout" };
        return {};
      case "keepalive":
        // Allowed in every phase, and never a command for --idle-timeout (SPEC §1).
        return {};
      case "upload_abort":
        if (state.phase !== "active") break;
        return await this.#abortStream(request.upload);
      default:
        if (state.phase !== "active" || !isCommandOp(request.op)) break;
        this.#touch();
        return await HANDLERS[request.op](
          this.#commandContext(state.device),
          request as never,
          request.id,
        );
    }
    throw new OutOfTurnError(
      new NotLoggedInError(`${request.op} is not allowed before login completes`),
    );
  }

  #hello(request: RequestArgs<"hello">): Record<string, unknown> {
    if (this.#state.phase !== "greeting") {
      throw new OutOfTurnError(new BadArgumentsError("hello was already sent"));
    }
    if (request.protocol !== PROTOCOL_NAME || request.version !== PROTOCOL_VERSION) {
      this.#closeAfterReply = { reason: "spoke an unsupported protocol version", code: "protocol" };
      throw new UnsupportedVersionError(
        `this server speaks ${PROTOCOL_NAME} version ${PROTOCOL_VERSION}, not ` +
          `${request.protocol} version ${request.version}; update the edge program`,
      );
    }
    this.#state = { phase: "authenticating" };
    return {
      version: PROTOCOL_VERSION,
      loginDeadlineMs: this.#host.settings.loginDeadlineMs,
      maxFrameBytes: MAX_FRAME_BYTES,
      keepaliveMs: this.#host.settings.keepaliveMs,
    };
  }

  async #login(request: RequestArgs<"login">): Promise<Record<string, unknown>> {
    if (this.#state.phase !== "authenticating") {
      throw new OutOfTurnError(
        new BadArgumentsError("login is only allowed once, right after hello"),
      );
    }
    const { name, password } = request;
    if (new TextEncoder().encode(password).length > MAX_PASSWORD_BYTES) {
      throw new BadArgumentsError(`password is longer than ${MAX_PASSWORD_BYTES} bytes`);
    }
    // A second login cannot overlap this one while the check runs.
    this.#state = { phase: "checking" };
    const host = this.#host;
    let registering = false;
    let outcome: LoginOutcome;
    try {
      registering = host.settings.allowRegistration && !deviceNameProblem(name) &&
        !(await host.knownDevice(name));
      if (registering) {
        const waitMs = host.registrations.take(this.ip);
        if (waitMs > 0) {
          throw new BusyError(
            `too many new accounts from ${this.ip} (at most ${host.registrations.perMinute} ` +
              `a minute); try again in ${Math.ceil(waitMs / 1000)} s`,
          );
        }
        await registerAccount(name, password, {
          credentialsPath: host.settings.credentialsPath,
          hasher: host.hasher,
        });
        host.record({ kind: "registered", device: name, ip: this.ip });
      }
      outcome = await host.auth.login(name, password);
    } finally {
      if (this.state.phase !== "closed") this.#state = { phase: "authenticating" };
    }
    return { ...this.#finishLogin(name, outcome), registered: registering };
  }

  /** A fresh challenge for a key login on this connection (SPEC §7); each is used once. */
  #keyChallenge(): Record<string, unknown> {
    if (this.#state.phase !== "authenticating") {
      throw new OutOfTurnError(
        new BadArgumentsError("key_challenge is only allowed after hello, before login"),
      );
    }
    this.#keyLoginChallenge = crypto.getRandomValues(new Uint8Array(KEY_LOGIN_CHALLENGE_BYTES));
    return { challenge: toBase64(this.#keyLoginChallenge) };
  }

  /**
   * A key login: the signature over this connection's challenge, throttled and answered as
   * a password login (`Authenticator.loginWithKey`).
   */
  async #keyLogin(request: RequestArgs<"key_login">): Promise<Record<string, unknown>> {
    const challenge = this.#keyLoginChallenge;
    if (this.#state.phase !== "authenticating" || challenge === undefined) {
      throw new OutOfTurnError(
        new BadArgumentsError("key_login needs a key_challenge first, after hello"),
      );
    }
    this.#keyLoginChallenge = undefined; // used once, whatever the outcome
    const { name, signature } = request;
    this.#state = { phase: "checking" };
    let outcome: LoginOutcome;
    try {
      outcome = await this.#host.auth.loginWithKey(
        name,
        (publicKey) => verifyKeyLogin(publicKey, { challenge, name, signature }),
      );
    } finally {
      if (this.state.phase !== "closed") this.#state = { phase: "authenticating" };
    }
    return this.#finishLogin(name, outcome);
  }

  /** After a password or key check: refuse, or move on to registering the UDP port. */
  #finishLogin(name: string, outcome: LoginOutcome): { ticketKey: string } {
    if (this.state.phase === "closed") throw new IoError("connection closed");
    this.#host.metrics.logins.inc({ result: outcome.ok ? "ok" : outcome.code });
    if (!outcome.ok) {
      this.#host.record(loginFailedEvent(name, { ip: this.ip, result: outcome.code }));
      if (outcome.blockStarted) {
        this.#host.record({ kind: "lockout", device: name, ip: this.ip, ...outcome.blockStarted });
      }
      throw requestErrorOf(outcome.code, outcome.message);
    }
    if (!this.#host.active.claim(name)) {
      this.#host.log(`refused second login of ${name} from ${this.ip}`);
      throw new AlreadyActiveError(`${name} is already logged in from another edge`);
    }
    this.#state = { phase: "registering", device: name };
    this.#admission.loggedIn();
    this.#decoder.maxFrameBytes = MAX_FRAME_BYTES;
    return { ticketKey: toBase64(this.#ticketKey) };
  }

  #registerUdpPort(request: RequestArgs<"udp_port">): Record<string, unknown> {
    const state = this.#state;
    if (state.phase !== "registering") {
      throw new OutOfTurnError(
        new BadArgumentsError("udp_port is only allowed once, right after login"),
      );
    }
    if (request.port < 1 || request.port > 65535) {
      throw new BadArgumentsError(`UDP port must be 1..65535, not ${request.port}`);
    }
    if (this.#loginTimer !== undefined) this.#host.clock.clearTimeout(this.#loginTimer);
    this.#loginTimer = undefined;
    const host = this.#host;
    const since = host.clock.now();
    const device = state.device;
    host.active.activate({
      name: device,
      since,
      ip: this.ip,
      udpPort: request.port,
      ticketKey: this.#ticketKey,
      deliver: (frame) => this.#queue(frame),
    });
    this.#state = { phase: "active", device, since };
    host.metrics.online(host.active.count);
    // Login history is not acknowledged to anyone: it rides the next group commit.
    void host.presenceHistory.recordVisit(device, { since, until: null, reason: null, ip: this.ip })
      .catch((error) => host.log(`cannot record that ${device} was seen: ${error}`));
    host.record({ kind: "login", device, ip: this.ip, udpPort: request.port });
    this.#announce(device, "online");
    this.#touch();
    return {};
  }

  /** Restarts the inactivity timer, when one is configured. */
  #touch(): void {
    const seconds = this.#host.settings.idleTimeoutSeconds;
    if (seconds <= 0) return;
    const { clock } = this.#host;
    if (this.#idleTimer !== undefined) clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = clock.setTimeout(
      () => this.#expire("idle", `logged out after ${seconds} s without a command`),
      seconds * 1000,
    );
  }

  #commandContext(device: string): CommandContext {
    return {
      server: this.#host,
      device,
      ip: this.ip,
      openStream: (id, sink) => {
        if (this.#streams.has(id) || this.#abandoned.has(id)) {
          throw new BadArgumentsError(`stream ${id} is already open`);
        }
        if (this.#streams.size >= MAX_OPEN_UPLOADS) {
          throw new BusyError(
            `this connection already has ${MAX_OPEN_UPLOADS} uploads open, the most allowed; ` +
              "wait for one to finish",
          );
        }
        this.#streams.set(id, sink);
      },
      closeStream: (id, sink) => {
        if (this.#streams.get(id) === sink) this.#streams.delete(id);
      },
    };
  }

  async #onData(stream: number, bytes: Uint8Array): Promise<void> {
    if (!this.#loggedIn) throw new ProtocolError(`a data frame (stream ${stream}) before login`);
    const sink = this.#streams.get(stream);
    if (sink) {
      // Rejects when the session closes while it waits.
      await this.#uploadTurn.take(this.#whenClosed.signal);
      const more = await sink.write(bytes);
      if (!more && this.#streams.get(stream) === sink) this.#streams.delete(stream);
      return;
    }
    if (this.#abandoned.has(stream)) return;
    // The upload already failed and answered; drop what the client sent before it knew.
    if (this.#abandoned.size >= MAX_ABANDONED_STREAMS) {
      throw new ProtocolError(`data for unknown stream ${stream}`);
    }
    this.#abandoned.add(stream);
  }

  async #abortStream(id: number): Promise<Record<string, unknown>> {
    this.#abandoned.delete(id);
    const sink = this.#streams.get(id);
    this.#streams.delete(id);
    if (sink) await sink.abort("the device cancelled it");
    return {};
  }
}

/** An unexpected error as one short line: its name and message, no stack. */
function oneLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  // deno-lint-ignore no-control-regex
  return text.replaceAll(/[\u0000-\u001f\u007f]+/g, " ").slice(0, 300);
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
