import assert from "node:assert/strict";
import { ManualClock } from "../internal/clock.ts";
import { ACCEPT_RETRY_MS, acceptEach, type Acceptor } from "./accept_loop.ts";

/** A listener that plays back `steps`: a connection (by name) or an error. */
function scripted(steps: (string | Error)[]): Acceptor {
  return {
    accept(): Promise<Deno.Conn> {
      const step = steps.shift() ?? new Deno.errors.BadResource("closed");
      if (step instanceof Error) return Promise.reject(step);
      return Promise.resolve({ name: step, close() {} } as unknown as Deno.Conn);
    },
  };
}

Deno.test("accept loop: a connection reset before it was taken is skipped, not the end of accepting", async () => {
  const taken: string[] = [];
  const logged: string[] = [];
  await acceptEach(
    scripted([
      "a",
      new Deno.errors.NotConnected("Transport endpoint is not connected (os error 107)"),
      new Deno.errors.ConnectionReset("reset"),
      new Deno.errors.ConnectionAborted("aborted"),
      "b",
    ]),
    {
      onConnection: (conn) => taken.push((conn as unknown as { name: string }).name),
      log: (line) => logged.push(line),
      clock: new ManualClock(),
    },
  );
  assert.deepEqual(taken, ["a", "b"]);
  assert.deepEqual(logged, [], "a peer that went away is nothing to report");
});

Deno.test("accept loop: another failure is logged and accepting resumes after the pause", async () => {
  const clock = new ManualClock();
  const taken: string[] = [];
  const logged: string[] = [];
  const done = acceptEach(
    scripted([new Error("Too many open files (os error 24)"), "a"]),
    {
      onConnection: (conn) => taken.push((conn as unknown as { name: string }).name),
      log: (line) => logged.push(line),
      clock,
    },
  );
  // The pause is on the clock: nothing is taken until it has passed.
  while (clock.pending === 0) await new Promise((r) => setTimeout(r, 1));
  assert.deepEqual(logged, [
    `cannot accept a connection: Too many open files (os error 24); trying again in ${ACCEPT_RETRY_MS} ms`,
  ]);
  clock.advance(ACCEPT_RETRY_MS - 1);
  assert.deepEqual(taken, []);
  clock.advance(1);
  await done;
  assert.deepEqual(taken, ["a"]);
});

Deno.test("accept loop: a connection its handler throws on is closed and logged; the next is taken", async () => {
  const closed: string[] = [];
  const logged: string[] = [];
  const conns = ["bad", "good"].map((name) => ({ name, close: () => closed.push(name) }));
  let i = 0;
  const taken: string[] = [];
  await acceptEach(
    {
      accept: () =>
        i < conns.length
          ? Promise.resolve(conns[i++] as unknown as Deno.Conn)
          : Promise.reject(new Deno.errors.BadResource("closed")),
    },
    {
      onConnection: (conn) => {
        const { name } = conn as unknown as { name: string };
        if (name === "bad") {
          throw new Deno.errors.NotConnected("Transport endpoint is not connected");
        }
        taken.push(name);
      },
      log: (line) => logged.push(line),
      clock: new ManualClock(),
    },
  );
  assert.deepEqual([taken, closed], [["good"], ["bad"]]);
  assert.deepEqual(logged, ["dropped a connection: Transport endpoint is not connected"]);
});
