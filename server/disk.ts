/**
 * The server's file-system operations while it serves go through here, at most
 * {@linkcode DISK_OPS_IN_FLIGHT} at a time; the rest wait their turn in order.
 *
 * Why: Deno runs file operations on a pool of threads, and the more of them are in
 * flight the longer a connection whose request has arrived waits to be read, while
 * timers still fire on time. A thousand uploads opening, writing and fsyncing at once
 * held SCS requests unread for up to 1.5 s. Measured here with an echo socket beside
 * 512 looping `Deno.stat` calls: echo p50 91 ms unbounded, 1.5 ms with 8 in flight, at
 * about two thirds of the throughput. Giving fsyncs an allowance of 32 of their own
 * brought the load test's SCS p99 back from 60 ms to 170–350 ms: every operation counts.
 *
 * Only leaf operations take a turn (a call never waits for a turn while holding one), so
 * turns cannot deadlock.
 *
 * **The caller resumes in a new task.** Code that runs straight on from a finished file
 * operation keeps sockets waiting: with 8 loops each awaiting a `Deno.stat` and doing
 * 1 ms of work after it, an echo on a socket took 155 ms (p50); with a zero-delay timer
 * between the two, 4.4 ms (`deno run -A scripts/experiments/socket_starvation.ts` shows both). So
 * {@linkcode onDisk} hands its result back through a timer whenever other operations are
 * in flight: in the load test SCS p99 fell from 137–216 ms to 65–112 ms over four
 * interleaved runs each, UED unchanged.
 *
 * @module
 */

import { Semaphore } from "../internal/semaphore.ts";

/** File-system operations the server has in flight at once. */
export const DISK_OPS_IN_FLIGHT = 8;

const turns = new Semaphore(DISK_OPS_IN_FLIGHT);

/** Runs `op`, a file-system operation that does not itself wait for a turn, in its turn. */
export async function onDisk<T>(op: () => Promise<T>): Promise<T> {
  const turn = await turns.acquire();
  try {
    return await op();
  } finally {
    turn.release();
    // Alone, an operation starves nothing, and a timer per write would slow one big
    // upload by half: only while others are in flight is the caller sent to a new task.
    if (turns.held > 0) await nextTask();
  }
}

/** Resolves in a later task of the event loop, after timers already due. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
