/**
 * Turns to take in upload bytes: at most `CONCURRENT_UPLOADS` connections read
 * upload data at once, first come first served. A connection whose upload bytes wait for
 * a turn reads nothing more, so its sender waits in TCP and the server never holds more
 * upload data than the turns allow.
 *
 * Why: a thousand uploads arriving at once used to be read, aggregated and written all
 * together, and a device's SCS request behind them waited up to 1.5 s to be read. Taken
 * in turns, the same uploads finish in the same time and a request waits for a few
 * uploads' worth of work at most.
 *
 * A turn belongs to a connection, not to an upload: a connection's frames are read one
 * after another, so one turn is all it can use, however many uploads it has open. One
 * connection therefore holds at most one of the turns, and a device that opens many
 * uploads gains nothing over one that opens one.
 *
 * A turn is held only while its sender keeps it busy. It passes on after
 * {@linkcode TURN_IDLE_MS} without bytes, or once the connection has waited for bytes
 * {@linkcode TURN_IDLE_TOTAL_MS} in all since it took the turn (so a sender that trickles
 * a byte every 49 ms cannot keep it either), and at once when the connection has no upload
 * open or closes. It is never taken away while bytes that arrived are being processed.
 * A connection whose turn passed on queues again when its next bytes arrive.
 *
 * @module
 */

import { type Clock, type Permit, Semaphore, type TimerId } from "../internal/mod.ts";

/** Time a turn stays with a connection whose sender sends nothing. */
export const TURN_IDLE_MS = 50;
/** Time in all a connection may wait for bytes while it holds one turn. */
export const TURN_IDLE_TOTAL_MS = 250;

/** How long a turn may sit unused; see {@linkcode TURN_IDLE_MS} and {@linkcode TURN_IDLE_TOTAL_MS}. */
export interface TurnIdleLimits {
  /** Silence, in milliseconds, after which the turn passes on. */
  idleMs: number;
  /** Silence in all, in milliseconds, after which the turn passes on. */
  idleTotalMs: number;
}

/** The server's turns; one {@linkcode UploadTurn} per connection. */
export class UploadTurns {
  readonly #turns: Semaphore;
  readonly #clock: Clock;
  readonly #limits: TurnIdleLimits;

  /**
   * @param size connections taking in upload bytes at once.
   * @param clock times the idle release.
   * @param limits how long a turn may sit unused.
   */
  constructor(
    size: number,
    clock: Clock,
    limits: TurnIdleLimits = { idleMs: TURN_IDLE_MS, idleTotalMs: TURN_IDLE_TOTAL_MS },
  ) {
    this.#turns = new Semaphore(size);
    this.#clock = clock;
    this.#limits = limits;
  }

  /** Connections holding a turn now. */
  get held(): number {
    return this.#turns.held;
  }

  /** Connections waiting for a turn now. */
  get waiting(): number {
    return this.#turns.waiting;
  }

  /**
   * The turn of one connection.
   *
   * @param onPassedOn called when the turn passes on because the sender went quiet.
   */
  forConnection(onPassedOn: () => void = () => {}): UploadTurn {
    return new UploadTurn(this.#turns, this.#clock, this.#limits, onPassedOn);
  }
}

/** One connection's place in line. */
export class UploadTurn {
  readonly #turns: Semaphore;
  readonly #clock: Clock;
  readonly #limits: TurnIdleLimits;
  readonly #onPassedOn: () => void;
  #permit: Permit | undefined;
  #idleTimer: TimerId | undefined;
  /** When the running idle watch began. */
  #idleSince = 0;
  /** Silence this turn may still sit through (of `idleTotalMs`). */
  #idleLeft = 0;

  constructor(turns: Semaphore, clock: Clock, limits: TurnIdleLimits, onPassedOn: () => void) {
    this.#turns = turns;
    this.#clock = clock;
    this.#limits = limits;
    this.#onPassedOn = onPassedOn;
  }

  /** Whether the connection holds a turn now. */
  get held(): boolean {
    return this.#permit !== undefined;
  }

  /**
   * Resolves once the connection holds a turn, for bytes that arrived; stops the idle
   * watch, so processing them is never cut short.
   *
   * @param signal gives up waiting (the connection closed).
   * @throws the signal's reason when it aborts before the turn comes.
   */
  async take(signal?: AbortSignal): Promise<void> {
    if (this.#permit) {
      this.#stopIdleWatch();
      return;
    }
    this.#permit = await this.#turns.acquire(signal);
    this.#idleLeft = this.#limits.idleTotalMs;
  }

  /**
   * The connection reads on while it holds the turn: unless bytes arrive
   * ({@linkcode take}) in time, the turn passes on.
   */
  awaitBytes(): void {
    if (!this.#permit || this.#idleTimer !== undefined) return;
    this.#idleSince = this.#clock.now();
    // The idle time left is below zero when a timer ran late: then the turn passes on at once.
    const wait = Math.max(0, Math.min(this.#limits.idleMs, this.#idleLeft));
    this.#idleTimer = this.#clock.setTimeout(() => {
      this.#idleTimer = undefined;
      this.release();
      this.#onPassedOn();
    }, wait);
  }

  /** Gives the turn back now, if held: no upload is open, or the connection closed. */
  release(): void {
    this.#stopIdleWatch();
    this.#permit?.release();
    this.#permit = undefined;
  }

  #stopIdleWatch(): void {
    if (this.#idleTimer === undefined) return;
    this.#clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#idleLeft -= this.#clock.now() - this.#idleSince;
  }
}
