/**
 * The TLS 1.3 gate's waiting and deciding, over a fake socket and manual clocks: a
 * ClientHello that is already there or still arriving, one read by someone else first,
 * the deadline, the server closing. The real socket side is in `tests/tls13_gate_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ManualClock, type Peeked } from "../internal/mod.ts";
import { encodeTlsAlert, TLS13_VERSION, TLS_ALERT } from "../tls/client_hello.ts";
import { ALPN_IOTNET, clientHello, concat, records } from "../tls/_client_hello_fixture.ts";
import {
  CLIENT_HELLO_FAST_POLL_MS,
  CLIENT_HELLO_HOLD_BYTES,
  CLIENT_HELLO_POLL_MAX_MS,
  type GateSockets,
  Tls13Gate,
} from "./tls13_gate.ts";

const FD = 7;
const TLS13_HELLO = records(clientHello({ versions: [TLS13_VERSION], extensions: [ALPN_IOTNET] }));
const TLS12_HELLO = records(clientHello({ extensions: [ALPN_IOTNET] }));
const CONN = {} as Deno.Conn;

/** One accepted socket: what has arrived, what someone else read, what the gate did. */
class FakeSockets implements GateSockets {
  unread: Uint8Array = new Uint8Array(0);
  received = 0;
  state: "up" | "closed" | "failed" = "up";
  fd: number | undefined = FD;
  peeks = 0;
  /** Bytes arriving between the gate's peek and its count, once each. */
  between: Uint8Array[] = [];
  lowWater: number[] = [];
  refused: (Uint8Array | undefined)[] = [];
  closed = false;

  arrive(bytes: Uint8Array): void {
    this.unread = concat([this.unread, bytes]);
    this.received += bytes.length;
  }

  /** Someone else (rustls) reads `n` bytes. */
  consume(n: number): void {
    this.unread = this.unread.slice(n);
  }

  locate(): number | undefined {
    return this.fd;
  }

  peek(fd: number, into: Uint8Array): Peeked {
    assert.equal(fd, FD);
    this.peeks++;
    if (this.state !== "up") return { kind: this.state };
    if (this.unread.length === 0) return { kind: "nothing" };
    const count = Math.min(into.length, this.unread.length);
    into.set(this.unread.subarray(0, count));
    return { kind: "bytes", count };
  }

  bytesReceived(): number {
    const next = this.between.shift();
    if (next) this.arrive(next);
    return this.received;
  }

  setReceiveLowWater(fd: number, bytes: number): boolean {
    assert.equal(fd, FD);
    this.lowWater.push(bytes);
    return true;
  }

  refuse(fd: number, last?: Uint8Array): void {
    assert.equal(fd, FD);
    this.refused.push(last);
  }

  close(): void {
    this.closed = true;
  }
}

function setup() {
  const sockets = new FakeSockets();
  const clock = new ManualClock(1_000);
  const pace = new ManualClock(0);
  const gate = new Tls13Gate(sockets, { clock, pace });
  return { sockets, clock, pace, gate };
}

/** Lets the gate's promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

Deno.test("a ClientHello offering TLS 1.3 that is already there passes at once", async () => {
  const { sockets, pace, gate } = setup();
  sockets.arrive(TLS13_HELLO);
  assert.equal(await gate.admit(CONN, { deadlineMs: 60_000 }), undefined);
  assert.deepEqual(sockets.lowWater, [1]);
  assert.deepEqual(sockets.refused, []);
  assert.equal(pace.pending, 0);
});

Deno.test("a ClientHello that arrives in pieces after the accept is waited for", async () => {
  const { sockets, pace, gate } = setup();
  let result: string | undefined | null = null;
  void gate.admit(CONN, { deadlineMs: 60_000 }).then((r) => (result = r));
  await settle();
  assert.equal(result, null);
  assert.equal(pace.pending, 1, "waits for the next look");
  sockets.arrive(TLS13_HELLO.subarray(0, 10));
  pace.advance(0);
  await settle();
  assert.equal(result, null, "a part is not enough");
  sockets.arrive(TLS13_HELLO.subarray(10));
  pace.advance(CLIENT_HELLO_POLL_MAX_MS);
  await settle();
  assert.equal(result, undefined);
  assert.deepEqual(sockets.lowWater, [1]);
});

Deno.test("the looks: next turn, every 1 ms for CLIENT_HELLO_FAST_POLL_MS, then doubling to CLIENT_HELLO_POLL_MAX_MS", async () => {
  const { sockets, pace, gate } = setup();
  const admitted = gate.admit(CONN, { deadlineMs: 60_000 });
  await settle();
  const pauses = [0, ...Array(CLIENT_HELLO_FAST_POLL_MS).fill(1), 2, 4, 8, 16, 32, 50, 50];
  for (const ms of pauses) {
    const before = sockets.peeks;
    if (ms > 0) {
      pace.advance(ms - 1);
      await settle();
      assert.equal(sockets.peeks, before, `no look before ${ms} ms`);
    }
    pace.advance(ms === 0 ? 0 : 1);
    await settle();
    assert.equal(sockets.peeks, before + 1, `a look after ${ms} ms`);
  }
  assert.equal(pauses.at(-1), CLIENT_HELLO_POLL_MAX_MS);
  sockets.arrive(TLS12_HELLO);
  pace.advance(CLIENT_HELLO_POLL_MAX_MS);
  assert.match(await admitted ?? "", /does not offer TLS 1\.3/);
});

Deno.test("a TLS 1.2 ClientHello is refused with alert protocol_version", async () => {
  const { sockets, gate } = setup();
  sockets.arrive(TLS12_HELLO);
  const reason = await gate.admit(CONN, { deadlineMs: 60_000 });
  assert.match(reason ?? "", /does not offer TLS 1\.3/);
  assert.deepEqual(sockets.refused, [encodeTlsAlert(TLS_ALERT.protocol_version)]);
  assert.deepEqual(sockets.lowWater, [], "rustls is never woken");
});

Deno.test("a plain iotnet client is refused with a TLS alert, so the edge says so", async () => {
  const { sockets, gate } = setup();
  sockets.arrive(new Uint8Array([0, 0, 0, 20, 123]));
  assert.match(await gate.admit(CONN, { deadlineMs: 60_000 }) ?? "", /does not speak TLS/);
  assert.deepEqual(sockets.refused, [encodeTlsAlert(TLS_ALERT.unexpected_message)]);
});

Deno.test("bytes someone else read first make the gate refuse, not guess", async () => {
  const { sockets, gate } = setup();
  // rustls read a TLS 1.2 ClientHello; a TLS 1.3 one follows to mislead the gate.
  sockets.arrive(TLS12_HELLO);
  sockets.consume(TLS12_HELLO.length);
  sockets.arrive(TLS13_HELLO);
  const reason = await gate.admit(CONN, { deadlineMs: 60_000 });
  assert.match(reason ?? "", /first bytes were read before the ClientHello could be checked/);
  assert.deepEqual(sockets.lowWater, []);
  assert.deepEqual(sockets.refused, [undefined]);
});

Deno.test("bytes arriving between a peek and the count make the gate look again", async () => {
  const { sockets, gate } = setup();
  sockets.arrive(TLS13_HELLO.subarray(0, 20));
  sockets.between.push(TLS13_HELLO.subarray(20));
  assert.equal(await gate.admit(CONN, { deadlineMs: 60_000 }), undefined);
  assert.equal(sockets.peeks, 2);
});

Deno.test("a client that sends CLIENT_HELLO_HOLD_BYTES without waiting is refused", async () => {
  const { sockets, gate } = setup();
  sockets.arrive(new Uint8Array(CLIENT_HELLO_HOLD_BYTES).fill(22));
  assert.match(
    await gate.admit(CONN, { deadlineMs: 60_000 }) ?? "",
    /sent 32768 bytes or more before any answer/,
  );
  assert.deepEqual(sockets.refused, [encodeTlsAlert(TLS_ALERT.handshake_failure)]);
});

Deno.test("no whole ClientHello by the deadline: the socket is shut, no alert", async () => {
  const { sockets, clock, pace, gate } = setup();
  sockets.arrive(TLS13_HELLO.subarray(0, 3));
  let result: string | undefined | null = null;
  void gate.admit(CONN, { deadlineMs: 5_000 }).then((r) => (result = r));
  await settle();
  clock.advance(5_000);
  pace.advance(CLIENT_HELLO_POLL_MAX_MS);
  await settle();
  assert.equal(result, "no whole ClientHello within 5000 ms (3 bytes came)");
  assert.deepEqual(sockets.refused, [undefined]);
});

Deno.test("a client that closes or fails before its ClientHello is refused quietly", async () => {
  for (const [state, pattern] of [["closed", /closed the connection/], ["failed", /failed/]]) {
    const { sockets, gate } = setup();
    sockets.state = state as "closed" | "failed";
    assert.match(await gate.admit(CONN, { deadlineMs: 60_000 }) ?? "", pattern as RegExp);
    assert.deepEqual(sockets.refused, [undefined]);
  }
});

Deno.test("a socket the gate cannot find is refused, never handed to TLS unread", async () => {
  const { sockets, gate } = setup();
  sockets.fd = undefined;
  assert.match(await gate.admit(CONN, { deadlineMs: 60_000 }) ?? "", /cannot find its socket/);
  assert.deepEqual(sockets.lowWater, []);
});

Deno.test("closing the server ends the wait, and libc closes after the last admission", async () => {
  const { sockets, gate } = setup();
  const stop = new AbortController();
  const waiting = gate.admit(CONN, { deadlineMs: 60_000, signal: stop.signal });
  await settle();
  gate.close();
  assert.equal(sockets.closed, false, "an admission still uses the socket calls");
  stop.abort();
  assert.equal(await waiting, "the server is shutting down");
  assert.deepEqual(sockets.refused, [undefined]);
  assert.equal(sockets.closed, true);
  assert.equal(await gate.admit(CONN, { deadlineMs: 1 }), "the server is shutting down");
});
