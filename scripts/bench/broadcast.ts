/**
 * Broadcast fan-out benchmark: one device broadcasts 100 messages to 1,000 connected
 * devices through a real `iotnet server`, beside mosquitto doing the same fan-out to
 * 1,000 QoS 0 subscribers, measured in the same run by the same harness (all receivers
 * in this process, so both sides pay the same receiving cost). Reports deliveries per
 * second, p50/p99 delivery latency and the server's RSS.
 *
 * @module
 */

import { join } from "node:path";
import { EdgeConnection } from "../../client/connection.ts";
import { ensureTools } from "../tools.ts";
import { BenchServer } from "./bench_server.ts";
import { mb, percentile, sampleRss, table } from "./helpers.ts";
import { writeAll } from "../../internal/mod.ts";
import { startToolServer } from "./tool_server.ts";

const RECEIVERS = 1000;
const MESSAGES = 100;

interface FanOut {
  deliveries: number;
  seconds: number;
  latenciesMs: number[];
  peakRss: number;
}

/** Runs the benchmark and returns its Markdown section. */
export async function runBroadcastBench(): Promise<string> {
  await ensureTools(["mosquitto"]);
  const iotnet = await iotnetFanOut();
  const mqtt = await mosquittoFanOut();
  const rate = (f: FanOut) => f.deliveries / f.seconds;
  const row = (name: string, f: FanOut) => [
    name,
    f.deliveries.toLocaleString("en"),
    Math.round(rate(f)).toLocaleString("en"),
    `${percentile(f.latenciesMs, 50).toFixed(1)} ms`,
    `${percentile(f.latenciesMs, 99).toFixed(1)} ms`,
    `${mb(f.peakRss)} MB`,
  ];
  return [
    `## Broadcast fan-out (${MESSAGES} messages to ${RECEIVERS.toLocaleString("en")} receivers)`,
    "",
    "One sender, 1,000 receivers connected over loopback, all receivers in the benchmark process;",
    "both senders send their 100 messages without waiting for a reply to each.",
    "iotnet: `broadcast` through `iotnet server` (blocks and presence honoured: every",
    "broadcast looks up who blocks the sender). mosquitto: QoS 0 publish to 1,000",
    "subscribers of one topic. Latency is from just before the send to arrival.",
    "",
    table(
      ["server", "deliveries", "deliveries/s", "p50 latency", "p99 latency", "server peak RSS"],
      [
        row("iotnet", iotnet),
        row("mosquitto", mqtt),
      ],
    ),
    "",
    `Ratio: iotnet delivers ${(rate(iotnet) / rate(mqtt)).toFixed(2)}× mosquitto's rate.`,
  ].join("\n");
}

/** Arrivals of the fan-out: how many, when the last one came, and each one's latency. */
class Arrivals {
  readonly latenciesMs: number[] = [];
  readonly #expected: number;
  readonly #all = Promise.withResolvers<void>();
  lastArrival = 0;

  constructor(expected: number) {
    this.#expected = expected;
  }

  /** Counts one arrival of a message sent at `sentAt` (a `performance.now()` reading). */
  record(sentAt: number): void {
    this.lastArrival = performance.now();
    this.latenciesMs.push(this.lastArrival - sentAt);
    if (this.latenciesMs.length === this.#expected) this.#all.resolve();
  }

  /** Resolves when every expected message has arrived. */
  get complete(): Promise<void> {
    return this.#all.promise;
  }

  get expected(): number {
    return this.#expected;
  }
}

/** Sends {@linkcode MESSAGES} timestamped payloads and waits for every arrival. */
async function measureFanOut(
  serverPid: number,
  arrivals: Arrivals,
  publish: (payload: string) => Promise<unknown>,
): Promise<FanOut> {
  const sampler = sampleRss(serverPid);
  const start = performance.now();
  for (let m = 0; m < MESSAGES; m++) await publish(String(performance.now()));
  await arrivals.complete;
  return {
    deliveries: arrivals.expected,
    seconds: (arrivals.lastArrival - start) / 1000,
    latenciesMs: arrivals.latenciesMs,
    peakRss: sampler.stop(),
  };
}

async function iotnetFanOut(): Promise<FanOut> {
  const work = await Deno.makeTempDir({ prefix: "iotnet-bench-bcast-" });
  const names = Array.from({ length: RECEIVERS + 1 }, (_, i) => `d${i}`);
  await Deno.writeTextFile(join(work, "credentials.txt"), names.map((n) => `${n} pw\n`).join(""));
  const server = await BenchServer.start(work);
  const port = server.port;
  try {
    const arrivals = new Arrivals(MESSAGES * RECEIVERS);
    const connect = async (name: string, receiving: boolean) => {
      const c = await EdgeConnection.connect({
        hostname: "127.0.0.1",
        port,
        onPush: (push) => {
          if (!receiving || push.event !== "message") return;
          arrivals.record(Number(push.text));
        },
      });
      await c.request("login", { name, password: "pw" });
      await c.request("udp_port", { port: 9 });
      return c;
    };
    const receivers: EdgeConnection[] = [];
    for (let i = 1; i <= RECEIVERS; i += 100) {
      receivers.push(...await Promise.all(names.slice(i, i + 100).map((n) => connect(n, true))));
    }
    const sender = await connect(names[0]!, false);
    // Like mosquitto's publisher, the sender does not wait for each reply before the next
    // broadcast (requests carry ids); the replies are checked once all have arrived.
    const replies: Promise<unknown>[] = [];
    const result = await measureFanOut(server.pid, arrivals, (payload) => {
      replies.push(sender.request("broadcast", { text: payload }));
      return Promise.resolve();
    });
    await Promise.all(replies);
    for (const c of [sender, ...receivers]) c.close();
    return result;
  } finally {
    await server.stop();
    await Deno.remove(work, { recursive: true });
  }
}

async function mosquittoFanOut(): Promise<FanOut> {
  const work = await Deno.makeTempDir({ prefix: "iotnet-bench-mqtt-" });
  const config = join(work, "mosquitto.conf");
  try {
    // mosquitto cannot listen on port 0 (`listener 0` is a Unix socket): it gets a port.
    await using broker = await startToolServer({
      transport: "tcp",
      port: "chosen",
      async command(port) {
        await Deno.writeTextFile(
          config,
          `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n`,
        );
        return ["mosquitto", "-c", config];
      },
    });
    const port = broker.port;
    const arrivals = new Arrivals(MESSAGES * RECEIVERS);
    const subscribers: Deno.TcpConn[] = [];
    for (let i = 0; i < RECEIVERS; i += 100) {
      subscribers.push(
        ...await Promise.all(Array.from({ length: Math.min(100, RECEIVERS - i) }, async (_, j) => {
          const conn = await mqttConnect(port, `sub${i + j}`);
          await writeAll(conn, mqttSubscribe("bench"));
          const reader = mqttReader(conn);
          await reader.next(); // SUBACK
          void (async () => {
            for await (const payload of reader) {
              arrivals.record(Number(payload));
            }
          })();
          return conn;
        })),
      );
    }
    const publisher = await mqttConnect(port, "publisher");
    const result = await measureFanOut(
      broker.child.pid,
      arrivals,
      (payload) => writeAll(publisher, mqttPublish("bench", payload)),
    );
    for (const c of [publisher, ...subscribers]) c.close();
    return result;
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

// --- just enough MQTT 3.1.1 for QoS 0 fan-out ---

const utf8 = new TextEncoder();

function mqttString(text: string): Uint8Array {
  const bytes = utf8.encode(text);
  return new Uint8Array([bytes.length >> 8, bytes.length & 0xff, ...bytes]);
}

function mqttPacket(type: number, body: Uint8Array): Uint8Array {
  const length: number[] = [];
  let n = body.length;
  do {
    let digit = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) digit |= 0x80;
    length.push(digit);
  } while (n > 0);
  return new Uint8Array([type, ...length, ...body]);
}

async function mqttConnect(port: number, clientId: string): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const body = new Uint8Array([...mqttString("MQTT"), 4, 0x02, 0, 60, ...mqttString(clientId)]);
  await writeAll(conn, mqttPacket(0x10, body));
  const connack = new Uint8Array(4);
  let got = 0;
  while (got < 4) got += (await conn.read(connack.subarray(got))) ?? 4;
  return conn;
}

function mqttSubscribe(topic: string): Uint8Array {
  return mqttPacket(0x82, new Uint8Array([0, 1, ...mqttString(topic), 0]));
}

function mqttPublish(topic: string, payload: string): Uint8Array {
  return mqttPacket(0x30, new Uint8Array([...mqttString(topic), ...utf8.encode(payload)]));
}

/** Yields the payload of each PUBLISH (the first value is the SUBACK, as ""). */
async function* mqttReader(conn: Deno.TcpConn): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = new Uint8Array(0);
  const buffer = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) return;
    const joined = new Uint8Array(pending.length + n);
    joined.set(pending);
    joined.set(buffer.subarray(0, n), pending.length);
    let at = 0;
    for (;;) {
      let length = 0;
      let multiplier = 1;
      let i = at + 1;
      let complete = false;
      while (i < joined.length) {
        const digit = joined[i++]!;
        length += (digit & 0x7f) * multiplier;
        multiplier *= 128;
        if ((digit & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || i + length > joined.length) break;
      const type = joined[at]! >> 4;
      const body = joined.subarray(i, i + length);
      at = i + length;
      if (type === 9) yield "";
      if (type === 3) {
        const topicLength = (body[0]! << 8) | body[1]!;
        yield decoder.decode(body.subarray(2 + topicLength));
      }
    }
    pending = joined.slice(at);
  }
}
