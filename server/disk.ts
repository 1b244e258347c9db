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
  }
}
