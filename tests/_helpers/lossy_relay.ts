/**
 * Impaired links for UVF tests and benchmarks, both driven by the seeded
 * {@linkcode LossModel} so their drop/duplicate/reorder decisions are deterministic:
 *
 * - {@linkcode LossyLink}: a pure in-memory link between two sides on an injected clock
 *   (a `ManualClock` in the virtual-time harness);
 * - {@linkcode startLossyRelay}: a real UDP relay on 127.0.0.1 between two endpoints,
 *   returned as an async-disposable handle.
 *
 * @module
 */

import type { Clock } from "../../internal/clock.ts";
import { type LossConfig, type LossCounters, LossModel } from "../../p2p/loss_model.ts";
import {
  addrKey,
  type DatagramSocket,
  openUdpSocket,
  type PeerAddr,
} from "../../p2p/udp_socket.ts";

export type { LossConfig, LossCounters };

/** The two ends of a {@linkcode LossyLink}. */
export type LinkSide = "a" | "b";

/** In-memory link with per-direction impairments on an injected clock. */
export class LossyLink {
  #clock: Clock;
  #models: Record<LinkSide, LossModel>;
  #handlers: Partial<Record<LinkSide, (bytes: Uint8Array) => void>> = {};
  #inFlight = 0;
  /** When true, every datagram is dropped (a dead link). */
  dead = false;
  /** Bytes sent into the link from each side. */
  readonly sentBytes: Record<LinkSide, number> = { a: 0, b: 0 };

  /**
   * @param clock drives delivery delays.
   * @param aToB impairments of datagrams from a to b.
   * @param bToA impairments of datagrams from b to a.
   */
  constructor(clock: Clock, aToB: LossConfig, bToA: LossConfig) {
    this.#clock = clock;
    this.#models = { a: new LossModel(aToB), b: new LossModel(bToA) };
  }

  /** Counters per sending side. */
  counters(from: LinkSide): LossCounters {
    return this.#models[from].counters;
  }

  /** Datagrams scheduled but not yet delivered. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Sets the receive handler of one side. */
  on(side: LinkSide, deliver: (bytes: Uint8Array) => void): void {
    this.#handlers[side] = deliver;
  }

  /** Sends a datagram from `from` to the other side. */
  send(from: LinkSide, bytes: Uint8Array): void {
    this.sentBytes[from] += bytes.length;
    const to: LinkSide = from === "a" ? "b" : "a";
    const delays = this.#models[from].decide();
    if (this.dead) return;
    for (const d of delays) {
      const copy = bytes.slice();
      this.#inFlight++;
      this.#clock.setTimeout(() => {
        this.#inFlight--;
        if (!this.dead) this.#handlers[to]?.(copy);
      }, d);
    }
  }
}

/** Options of {@linkcode startLossyRelay}. */
export interface RelayOptions {
  /**
   * Where datagrams from "the other side" go: the receiving endpoint. Without it, the
   * relay drops what it receives until {@linkcode LossyRelay.setTarget} is called.
   */
  target?: PeerAddr;
  /** Impairments toward the target. */
  forward: LossConfig;
  /** Impairments back toward the client (default: same rates, seed + 1). */
  backward?: LossConfig;
}

/** A running relay. */
export interface LossyRelay extends AsyncDisposable {
  /** Send here instead of to the target. */
  readonly addr: PeerAddr;
  /** Counters per direction. */
  readonly counters: { forward: LossCounters; backward: LossCounters };
  /**
   * Sets the receiving endpoint, for one that must know the relay's port before it can
   * be started (it advertises the relay as its own address).
   */
  setTarget(target: PeerAddr): void;
  /** Stops the relay and waits for its loop to end. */
  close(): Promise<void>;
}

/**
 * Starts a UDP relay on 127.0.0.1 (port 0) that forwards datagrams from its first client
 * to `target` and the target's replies back to that client, impairing each direction
 * with a seeded {@linkcode LossModel}. One relay serves one client address; datagrams
 * from any other address are forwarded to the target and their replies go back to the
 * most recent such client.
 *
 * @param opts target address and impairments.
 * @returns an async-disposable handle.
 */
export function startLossyRelay(opts: RelayOptions): LossyRelay {
  const sock: DatagramSocket = openUdpSocket("127.0.0.1", 0);
  const fwd = new LossModel(opts.forward);
  const back = new LossModel(opts.backward ?? { ...opts.forward, seed: opts.forward.seed + 1 });
  let target = opts.target;
  let targetKey = target && addrKey(target);
  let client: PeerAddr | undefined;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let closed = false;

  function forward(bytes: Uint8Array, to: PeerAddr, model: LossModel): void {
    for (const delay of model.decide()) {
      if (delay <= 0) {
        sock.send(bytes, to).catch(() => {});
      } else {
        const copy = bytes.slice();
        const t = setTimeout(() => {
          timers.delete(t);
          if (!closed) sock.send(copy, to).catch(() => {});
        }, delay);
        timers.add(t);
      }
    }
  }

  const loop = (async () => {
    for (;;) {
      const d = await sock.receive();
      if (!d) return;
      const bytes = d.bytes.slice();
      if (addrKey(d.from) === targetKey) {
        if (client) forward(bytes, client, back);
      } else {
        client = d.from;
        if (target) forward(bytes, target, fwd);
      }
    }
  })();

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    sock.close();
    await loop;
  }

  return {
    addr: sock.addr,
    counters: { forward: fwd.counters, backward: back.counters },
    setTarget(to) {
      target = to;
      targetKey = addrKey(to);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
