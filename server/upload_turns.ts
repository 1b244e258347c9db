/**
 * Turns of the uploads taking in bytes: at most {@linkcode CONCURRENT_UPLOADS} at once,
 * first come first served. A session whose upload is waiting for a turn does not read,
 * so its sender waits in TCP and the server never holds more upload data than the turns
 * allow.
 *
 * Why: a thousand uploads arriving at once used to be read, aggregated and written all
 * together, and a device's SCS request behind them waited up to 1.5 s to be read. Taken
 * in turns, the same uploads finish in the same time and a request waits for a few
 * uploads' worth of work at most.
 *
 * A turn is not held while its sender sends nothing: after {@linkcode TURN_IDLE_MS}
 * without bytes it goes to the next upload in line, and the idle upload queues again when
 * its bytes arrive. A stalled or trickling sender therefore cannot keep others waiting.
 *
 * @module
 */

import type { Clock, TimerId } from "../internal/clock.ts";
import { type Permit, Semaphore } from "../internal/semaphore.ts";

/** Time an upload keeps its turn while its sender sends nothing. */
export const TURN_IDLE_MS = 50;

/** The server's turns; one {@linkcode UploadTurn} per upload. */
export class UploadTurns {
  readonly #turns: Semaphore;
  readonly #clock: Clock;
  readonly #idleMs: number;

  /**
   * @param size uploads taking in bytes at once.
   * @param clock times the idle release.
   * @param idleMs see {@linkcode TURN_IDLE_MS}.
   */
  constructor(size: number, clock: Clock, idleMs = TURN_IDLE_MS) {
    this.#turns = new Semaphore(size);
    this.#clock = clock;
    this.#idleMs = idleMs;
  }

  /** Uploads holding a turn now. */
  get held(): number {
    return this.#turns.held;
  }

  /** Uploads waiting for a turn now. */
  get waiting(): number {
    return this.#turns.waiting;
  }

  /** The turns of one upload. */
  forUpload(): UploadTurn {
    return new UploadTurn(this.#turns, this.#clock, this.#idleMs);
  }
}

/** One upload's place in line. */
export class UploadTurn {
  readonly #turns: Semaphore;
  readonly #clock: Clock;
  readonly #idleMs: number;
  #permit: Promise<Permit> | undefined;
  #idleTimer: TimerId | undefined;
  #ended = false;

  constructor(turns: Semaphore, clock: Clock, idleMs: number) {
    this.#turns = turns;
    this.#clock = clock;
    this.#idleMs = idleMs;
  }

  /**
   * Resolves once this upload holds a turn, before its session reads on; starts the idle
   * watch: unless bytes arrive ({@linkcode take}) within the idle time, the turn passes on.
   */
  async waitForBytes(): Promise<void> {
    if (this.#ended) return;
    await (this.#permit ??= this.#turns.acquire());
    if (this.#ended || this.#idleTimer !== undefined) return;
    this.#idleTimer = this.#clock.setTimeout(() => {
      this.#idleTimer = undefined;
      this.#giveBack();
    }, this.#idleMs);
  }

  /** Resolves once this upload holds a turn, for bytes that arrived: no idle watch. */
  async take(): Promise<void> {
    if (this.#ended) return;
    this.#stopIdleWatch();
    await (this.#permit ??= this.#turns.acquire());
    this.#stopIdleWatch();
  }

  /** Gives the turn back for good. Safe to call more than once. */
  end(): void {
    this.#ended = true;
    this.#stopIdleWatch();
    this.#giveBack();
  }

  #stopIdleWatch(): void {
    if (this.#idleTimer !== undefined) this.#clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #giveBack(): void {
    const permit = this.#permit;
    this.#permit = undefined;
    void permit?.then((p) => p.release());
  }
}
