/**
 * The simulated devices of the load tests (`load.ts`, one server; `cluster.ts`, a network of
 * servers): their data files and expected results, logging one in, one device's work (UED,
 * the four SCS operations, AED, a message) with its latencies, and failures counted per
 * step under a deadline.
 *
 * @module
 */

import { join } from "node:path";
import { EdgeConnection, type UploadSource } from "../../client/connection.ts";
import { generateDataFile } from "../../client/generate.ts";
import {
  AVERAGE_DECIMALS,
  divideToDecimal,
  type Operation,
  OPERATIONS,
} from "../../protocol/compute.ts";
import { waitUntil, within } from "../../tests/_helpers/wait.ts";

/** How long one device's step may take before it counts as failed. */
export const STEP_DEADLINE_MS = 120_000;
/** Failures quoted in a report. */
export const QUOTED_FAILURES = 10;

/** One simulated edge device. */
export interface Device {
  name: string;
  password: string;
  /** The device's data file, read into memory so the driver spends no disk work on it. */
  data: Uint8Array;
  expected: Record<Operation, string>;
  connection?: EdgeConnection;
  /** Direct messages that arrived. */
  received: number;
}

export async function prepareDevices(
  dir: string,
  count: number,
  samples: number,
  progress: (line: string) => void,
): Promise<Device[]> {
  progress(`generating ${count} files of ${samples} samples`);
  const width = String(count - 1).length;
  const fleet: Device[] = [];
  for (let i = 0; i < count; i++) {
    const name = `load${String(i).padStart(width, "0")}`;
    const path = join(dir, `${name}-1.txt`);
    await generateDataFile(path, samples);
    const data = await Deno.readFile(path);
    fleet.push({
      name,
      password: `pw-${crypto.randomUUID().slice(0, 8)}`,
      data,
      expected: expectedResults(new TextDecoder().decode(data)),
      received: 0,
    });
  }
  return fleet;
}

/**
 * The four SCS answers computed here, independently of the server's aggregator: a BigInt
 * sum over every line, and AVERAGE with `protocol/compute.ts`'s rounding rule.
 */
function expectedResults(text: string): Record<Operation, string> {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  let sum = 0n;
  let min = Infinity;
  let max = -Infinity;
  for (const line of lines) {
    const value = BigInt(line);
    sum += value;
    const n = Number(value);
    if (n < min) min = n;
    if (n > max) max = n;
  }
  return {
    SUM: sum.toString(),
    AVERAGE: divideToDecimal(sum, BigInt(lines.length), AVERAGE_DECIMALS),
    MAX: String(max),
    MIN: String(min),
  };
}

/**
 * Connects `device` to the server on `port`, logs it in and registers a UDP port.
 *
 * @returns how long it took (ms).
 */
export async function logInDevice(device: Device, port: number): Promise<number> {
  const began = performance.now();
  device.connection = await EdgeConnection.connect({
    hostname: "127.0.0.1",
    port,
    onPush: (push) => {
      if (push.event === "message" && push.kind === "direct") device.received++;
    },
  });
  await device.connection.request("login", { name: device.name, password: device.password });
  await device.connection.request("udp_port", { port: 9 });
  return performance.now() - began;
}

export interface Timings {
  login: number[];
  ued: number[];
  scs: number[];
  aed: number[];
  message: number[];
  logout: number[];
}

export interface Counts {
  scsCorrect: number;
  aedComplete: number;
  messagesOnline: number;
  loggedOut: number;
}

/** One device's work: UED, the four SCS operations, AED, a message to a random peer. */
export async function work(
  device: Device,
  index: number,
  online: Device[],
  t: Timings,
  counts: Counts,
  samples: number,
): Promise<void> {
  const c = device.connection!;
  let began = performance.now();
  const result = await c.upload(1, memoryReader(device.data), device.data.length);
  if (result.dataAmount !== samples) {
    throw new Error(`UED stored ${result.dataAmount} samples, not ${samples}`);
  }
  t.ued.push(performance.now() - began);
  for (const operation of OPERATIONS) {
    began = performance.now();
    const { result } = await c.request("compute", { fileID: 1, operation });
    t.scs.push(performance.now() - began);
    if (result !== device.expected[operation]) {
      throw new Error(`SCS ${operation} gave ${result}, expected ${device.expected[operation]}`);
    }
    counts.scsCorrect++;
  }
  began = performance.now();
  const { devices } = await c.request("devices", {});
  t.aed.push(performance.now() - began);
  const others = new Set(devices.map((d) => d.name));
  if (others.size !== online.length - 1 || others.has(device.name)) {
    throw new Error(`AED listed ${others.size} devices, expected the ${online.length - 1} others`);
  }
  counts.aedComplete++;
  const offset = 1 + Math.floor(Math.random() * (online.length - 1));
  const peer = online[(index + offset) % online.length]!;
  began = performance.now();
  const { delivery } = await c.request("message", {
    to: peer.name,
    text: `hello from ${device.name}`,
  });
  t.message.push(performance.now() - began);
  if (delivery !== "online") throw new Error(`message to ${peer.name} was ${delivery}`);
  counts.messagesOnline++;
}

/** Reads `data` front to back, like a file. */
export function memoryReader(data: Uint8Array): UploadSource {
  let at = 0;
  return {
    read(buffer) {
      if (at === data.length) return Promise.resolve(null);
      const n = Math.min(buffer.length, data.length - at);
      buffer.set(data.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
  };
}

// --- bookkeeping ---

/** Where failures are kept: a count of all, and the first few messages. */
export interface FailureSink {
  failedSteps: number;
  failures: string[];
}

/** Counts failed steps and keeps the first few messages. */
export class Failures {
  readonly #report: FailureSink;
  count = 0;

  constructor(report: FailureSink) {
    this.#report = report;
  }

  add(message: string): void {
    this.count++;
    this.#report.failedSteps++;
    if (this.#report.failures.length < QUOTED_FAILURES) this.#report.failures.push(message);
  }

  /** Runs one device's step with a deadline; a failure is counted and closes its connection. */
  async guard(
    device: { name: string; connection?: EdgeConnection },
    step: string,
    fn: () => Promise<void>,
  ): Promise<void> {
    try {
      await within(fn(), step, STEP_DEADLINE_MS);
    } catch (error) {
      this.add(`${device.name}: ${step}: ${(error as Error).message}`);
      device.connection?.close();
      delete device.connection;
    }
  }
}

/**
 * Waits until `test` holds, for `ms` at most, and goes on either way: the figures taken
 * next report the state it did not reach.
 */
export async function waitAtMost(
  test: () => boolean | Promise<boolean>,
  what: string,
  ms: number,
): Promise<void> {
  await waitUntil(test, what, ms, 20).catch(() => {});
}

/** Non-blank lines of a file; -1 when it cannot be read. */
export async function countLines(path: string): Promise<number> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter((l) => l.trim() !== "").length;
  } catch {
    return -1;
  }
}

/** Seconds since `since` (a `performance.now()`). */
export function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}
