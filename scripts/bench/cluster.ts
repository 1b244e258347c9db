/**
 * `deno task bench cluster` (issue 15, item 6): the 1,000-device load of `load.ts` against
 * one node on SQLite, one node on PostgreSQL and three nodes on PostgreSQL, side by side
 * and interleaved (S P P3, then P P3 S, ...); then, on an idle three-node network, how long
 * a message takes from a device on one node to a device on another (beside the same on one
 * node), and how long the network takes to notice a node killed with `kill -9`.
 *
 * Each network is real `iotnet server` processes on a throwaway PostgreSQL of its own
 * (fsync on, as PostgreSQL's defaults have it), a new database for each run. The devices
 * are spread over the nodes in turn, so in the three-node runs two messages in three and
 * two AED entries in three cross nodes.
 *
 * @module
 */

import { join } from "node:path";
import { EdgeConnection } from "../../client/connection.ts";
import type { Push } from "../../protocol/messages.ts";
import { PostgresCluster } from "../../tests/_helpers/postgres_cluster.ts";
import { BenchServer } from "./bench_server.ts";
import {
  formatMs,
  machineBusySeconds,
  median,
  msNumber,
  percentile,
  sleep,
  sum,
  table,
} from "./helpers.ts";
import {
  type Counts,
  type Device,
  Failures,
  logInDevice,
  prepareDevices,
  seconds,
  type Timings,
  waitAtMost,
  work,
} from "./load_fleet.ts";
import { TARGETS } from "./load_report.ts";
import { cpuSeconds, isWritableDir } from "./machine.ts";

/** Options of {@linkcode runClusterBench}. */
export interface ClusterBenchOptions {
  /** Devices logged in at once. Default 1,000. */
  devices?: number;
  /** Samples in each device's file. Default 10,000. */
  samples?: number;
  /** Runs of each setup, interleaved. Default {@linkcode ROUNDS}. */
  rounds?: number;
  /** Receives progress lines. Default: printed. */
  progress?: (line: string) => void;
}

/** Runs of each setup. Three give a median and a range; the setups take turns. */
const ROUNDS = 3;
/** Messages of the idle latency measurement, per pair of devices. */
const LATENCY_MESSAGES = 300;
/** Pause between two messages of the idle measurement: idle, not a flood. */
const LATENCY_GAP_MS = 10;
/** Devices on the node that is killed. */
const DOOMED_DEVICES = 100;
/** Times a node is killed (each time a new network). */
const KILLS = 3;
/** Target of the issue for a cross-node message on an idle network. */
const CROSS_NODE_P99_TARGET_MS = 50;
/** SPEC §9: a dead node is noticed by the others within this long. */
const NOTICE_TARGET_MS = 10_000;

/** One way of running the network. */
interface Setup {
  label: string;
  nodes: number;
  postgres: boolean;
}

const SETUPS: readonly Setup[] = [
  { label: "1 node, SQLite", nodes: 1, postgres: false },
  { label: "1 node, PostgreSQL", nodes: 1, postgres: true },
  { label: "3 nodes, PostgreSQL", nodes: 3, postgres: true },
];

/** What one load run of one setup measured. */
interface LoadRun {
  failures: Failures;
  quoted: string[];
  timings: Timings;
  counts: Counts;
  loggedIn: number;
  messagesArrived: number;
  loginSeconds: number;
  workSeconds: number;
  /**
   * CPU seconds of the work phase: every node together, the load driver (this process),
   * and the rest of the machine (PostgreSQL, the kernel's share no process is charged).
   */
  serverCpu: number;
  driverCpu: number;
  othersCpu: number;
  /** Lines of the nodes' logs that say something went wrong. */
  complaints: string[];
}

/**
 * Runs the comparison and the two idle measurements.
 *
 * @returns a `docs/BENCHMARKS.md` section.
 * @throws {Error} when PostgreSQL is not installed or a server cannot be started.
 */
export async function runClusterBench(options: ClusterBenchOptions = {}): Promise<string> {
  const devices = options.devices ?? 1_000;
  const samples = options.samples ?? 10_000;
  const rounds = options.rounds ?? ROUNDS;
  const progress = options.progress ?? ((line: string) => console.log(line));
  const started = performance.now();
  const workDir = await Deno.makeTempDir({ prefix: "iotnet-cluster-bench-" });
  const edgeParent = await isWritableDir("/dev/shm") ? "/dev/shm" : workDir;
  const edgeDir = await Deno.makeTempDir({ prefix: "iotnet-cluster-edge-", dir: edgeParent });
  progress("starting a throwaway PostgreSQL (fsync on)");
  await using pg = await PostgresCluster.create({ durable: true });
  try {
    const fleet = await prepareDevices(edgeDir, devices, samples, progress);
    const runs = new Map<Setup, LoadRun[]>(SETUPS.map((s) => [s, []]));
    for (let round = 0; round < rounds; round++) {
      // Each round starts with the next setup: none always runs first, on a fresher machine.
      for (let i = 0; i < SETUPS.length; i++) {
        const setup = SETUPS[(round + i) % SETUPS.length]!;
        const say = (line: string) => progress(`round ${round + 1}, ${setup.label}: ${line}`);
        const dir = await Deno.makeTempDir({ dir: workDir, prefix: "run-" });
        await using network = await Network.start(setup, dir, fleet, pg);
        runs.get(setup)!.push(await loadRun(network, fleet, samples, say));
      }
    }
    progress("idle message latency, across nodes and on one node");
    const latency = await messageLatency(await Deno.makeTempDir({ dir: workDir }), pg);
    progress(`kill -9 of a node with ${DOOMED_DEVICES} devices, ${KILLS} times`);
    const notices: Notice[] = [];
    for (let i = 0; i < KILLS; i++) {
      notices.push(await deadNodeNotice(await Deno.makeTempDir({ dir: workDir }), pg));
    }
    return markdown({
      devices,
      fileBytes: fleet[0]!.data.length,
      rounds,
      runs,
      latency,
      notices,
      minutes: (performance.now() - started) / 60_000,
    });
  } finally {
    await Deno.remove(edgeDir, { recursive: true }).catch(() => {});
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}

// --- a network of real servers ---

/** The nodes of one setup, on a fresh data directory each (and a fresh database). */
class Network implements AsyncDisposable {
  readonly nodes: BenchServer[];
  #stopped: Promise<string[]> | undefined;

  private constructor(nodes: BenchServer[]) {
    this.nodes = nodes;
  }

  /**
   * Starts `setup`'s nodes, each knowing `accounts`' names and passwords (fast hashing, as
   * the load test has it).
   */
  static async start(
    setup: Setup,
    dir: string,
    accounts: readonly { name: string; password: string }[],
    pg: PostgresCluster,
  ): Promise<Network> {
    const url = setup.postgres ? await pg.database() : undefined;
    const credentials = accounts.map((a) => `${a.name} ${a.password}\n`).join("");
    const nodes: BenchServer[] = [];
    try {
      for (let i = 0; i < setup.nodes; i++) {
        const nodeId = `node-${String.fromCharCode(97 + i)}`;
        const dataDir = join(dir, nodeId);
        await Deno.mkdir(dataDir);
        await Deno.writeTextFile(join(dataDir, "credentials.txt"), credentials);
        const cluster = url ? ["--cluster", url, "--node-id", nodeId] : [];
        nodes.push(await BenchServer.start(dataDir, "fast", cluster));
      }
    } catch (error) {
      await Promise.all(nodes.map((node) => node.stop()));
      throw error;
    }
    return new Network(nodes);
  }

  /** The device port of the node that device `index` uses (the devices take turns). */
  portFor(index: number): number {
    return this.nodes[index % this.nodes.length]!.port;
  }

  /** Every node's CPU seconds so far. */
  cpuSeconds(): number {
    return sum(this.nodes.map((node) => cpuSeconds(node.pid)));
  }

  /** Stops every node; returns the lines of their logs that say something went wrong. */
  stop(): Promise<string[]> {
    return this.#stopped ??= Promise.all(this.nodes.map((node) => node.stop())).then((lines) =>
      lines.flat()
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

// --- the load ---

/** The load test's first phase on `network`: all log in, all work, all log out. */
async function loadRun(
  network: Network,
  fleet: Device[],
  samples: number,
  progress: (line: string) => void,
): Promise<LoadRun> {
  const sink = { failedSteps: 0, failures: [] as string[] };
  const failures = new Failures(sink);
  const t: Timings = { login: [], ued: [], scs: [], aed: [], message: [], logout: [] };
  const counts: Counts = { scsCorrect: 0, aedComplete: 0, messagesOnline: 0, loggedOut: 0 };
  for (const device of fleet) device.received = 0;
  try {
    await sleep(300);
    progress(`logging ${fleet.length} devices in at once`);
    let start = performance.now();
    await Promise.all(fleet.map((device, i) =>
      failures.guard(device, "login", async () => {
        t.login.push(await logInDevice(device, network.portFor(i)));
      })
    ));
    const loginSeconds = seconds(start);
    const online = fleet.filter((d) => d.connection);
    // A node learns of the others' logins by notification: wait until one device on each
    // node sees the whole network, as AED must.
    await waitAtMost(
      async () => {
        const firsts = network.nodes.map((_, n) =>
          online.find((d) => fleet.indexOf(d) % network.nodes.length === n)
        );
        const seen = await Promise.all(
          firsts.map(async (d) =>
            d ? (await d.connection!.request("whoelse", {})).devices.length : 0
          ),
        );
        return seen.every((n) => n === online.length - 1);
      },
      "every node seeing every device",
      10_000,
    );

    progress(`${online.length} devices upload, compute, list and message at once`);
    const cpuBefore = network.cpuSeconds();
    const machineBefore = machineBusySeconds();
    const driverBefore = cpuSeconds(Deno.pid);
    start = performance.now();
    await Promise.all(
      online.map((device, i) =>
        failures.guard(device, "work", () => work(device, i, online, t, counts, samples))
      ),
    );
    const workSeconds = seconds(start);
    const serverCpu = network.cpuSeconds() - cpuBefore;
    const driverCpu = cpuSeconds(Deno.pid) - driverBefore;
    const othersCpu = machineBusySeconds() - machineBefore - serverCpu - driverCpu;
    await waitAtMost(
      () => sum(fleet.map((d) => d.received)) >= counts.messagesOnline,
      "the last direct messages",
      5_000,
    );
    const messagesArrived = sum(fleet.map((d) => d.received));
    await Promise.all(online.map((device) =>
      failures.guard(device, "logout", async () => {
        await device.connection!.request("logout", {});
        counts.loggedOut++;
      })
    ));
    return {
      failures,
      quoted: sink.failures,
      timings: t,
      counts,
      loggedIn: online.length,
      messagesArrived,
      loginSeconds,
      workSeconds,
      serverCpu,
      driverCpu,
      othersCpu: Math.max(0, othersCpu),
      complaints: await network.stop(),
    };
  } finally {
    for (const device of fleet) {
      device.connection?.close();
      delete device.connection;
    }
  }
}

// --- idle message latency ---

/** Latencies of messages from a device to another, sent one at a time. */
interface Latency {
  crossNode: number[];
  sameNode: number[];
}

/**
 * On an idle three-node network: `sender` on node a messages `near` (also on a) and `far`
 * (on b) in turn, one message at a time, {@linkcode LATENCY_GAP_MS} apart; each latency is
 * from the request sent to the push read by the recipient.
 */
async function messageLatency(dir: string, pg: PostgresCluster): Promise<Latency> {
  const accounts = ["sender", "near", "far"].map((name) => ({ name, password: `pw-${name}` }));
  await using network = await Network.start(SETUPS[2]!, dir, accounts, pg);
  const [a, b] = network.nodes as [BenchServer, BenchServer];
  const connections: EdgeConnection[] = [];
  try {
    const arrivals = new Map<string, (push: Push) => void>();
    const connect = async (name: string, port: number) => {
      const account = accounts.find((a) => a.name === name)!;
      const onPush = (push: Push) => arrivals.get(name)?.(push);
      return await activeEdge(port, account, connections, onPush);
    };
    const sender = await connect("sender", a.port);
    await connect("near", a.port);
    await connect("far", b.port);
    const latency: Latency = { crossNode: [], sameNode: [] };
    for (let i = 0; i < 2 * LATENCY_MESSAGES; i++) {
      const to = i % 2 === 0 ? "far" : "near";
      const text = `ping ${i}`;
      const arrived = new Promise<number>((resolve) =>
        arrivals.set(to, (push) => {
          if (push.event === "message" && push.text === text) resolve(performance.now());
        })
      );
      const began = performance.now();
      await sender.request("message", { to, text });
      const ms = (await arrived) - began;
      if (i >= 20) (to === "far" ? latency.crossNode : latency.sameNode).push(ms); // warm-up
      await sleep(LATENCY_GAP_MS);
    }
    return latency;
  } finally {
    for (const connection of connections) connection.close();
  }
}

/**
 * An edge on the node at `port`, logged in as `account` with a UDP port registered, kept
 * in `connections` (for the caller to close).
 */
async function activeEdge(
  port: number,
  account: { name: string; password: string },
  connections: EdgeConnection[],
  onPush?: (push: Push) => void,
): Promise<EdgeConnection> {
  const connection = await EdgeConnection.connect({
    hostname: "127.0.0.1",
    port,
    ...(onPush && { onPush }),
  });
  connections.push(connection);
  await connection.request("login", account);
  await connection.request("udp_port", { port: 9 });
  return connection;
}

// --- a node killed ---

/** How long the network took to notice a node killed with `kill -9`. */
interface Notice {
  /** Until a device on another node was told every device of the dead node was offline. */
  offlineMs: number;
  /** Until one of the dead node's devices logged in again through another node. */
  loginAgainMs: number;
}

/**
 * Three nodes; {@linkcode DOOMED_DEVICES} devices on node c, a watcher on node a. Node c
 * is killed with `kill -9`: how long until the watcher has heard every one of them go
 * offline, and until the first of them logs in again through node a (trying every 20 ms).
 */
async function deadNodeNotice(dir: string, pg: PostgresCluster): Promise<Notice> {
  const accounts = [
    { name: "watcher", password: "pw-watcher" },
    ...Array.from({ length: DOOMED_DEVICES }, (_, i) => ({ name: `dev${i}`, password: `pw${i}` })),
  ];
  await using network = await Network.start(SETUPS[2]!, dir, accounts, pg);
  const [a, , c] = network.nodes as [BenchServer, BenchServer, BenchServer];
  const connections: EdgeConnection[] = [];
  try {
    const offline = new Set<string>();
    const watcher = await activeEdge(a.port, accounts[0]!, connections, (push) => {
      if (push.event === "presence" && push.state === "offline") offline.add(push.device);
    });
    for (const account of accounts.slice(1)) await activeEdge(c.port, account, connections);
    await waitAtMost(
      async () => (await watcher.request("whoelse", {})).devices.length === DOOMED_DEVICES,
      "the watcher seeing every device",
      5_000,
    );
    const killed = performance.now();
    c.kill("SIGKILL");
    let loginAgainMs = NaN;
    const again = (async () => {
      const first = accounts[1]!;
      while (performance.now() - killed < 2 * NOTICE_TARGET_MS) {
        const connection = await EdgeConnection.connect({ hostname: "127.0.0.1", port: a.port });
        connections.push(connection);
        try {
          await connection.request("login", first);
          loginAgainMs = performance.now() - killed;
          return;
        } catch {
          connection.close();
          await sleep(20);
        }
      }
    })();
    await waitAtMost(
      () => offline.size === DOOMED_DEVICES,
      "every device of the dead node offline",
      2 * NOTICE_TARGET_MS,
    );
    const offlineMs = offline.size === DOOMED_DEVICES ? performance.now() - killed : NaN;
    await again;
    return { offlineMs, loginAgainMs };
  } finally {
    for (const connection of connections) connection.close();
  }
}

// --- the report ---

interface Results {
  devices: number;
  fileBytes: number;
  rounds: number;
  runs: Map<Setup, LoadRun[]>;
  latency: Latency;
  notices: Notice[];
  minutes: number;
}

/** A latency percentile of each run. */
type Pick = (run: LoadRun) => number;

function markdown(r: Results): string {
  const threeNodes = r.runs.get(SETUPS[2]!)!;
  const cell = (setup: Setup, pick: Pick, format: (n: number) => string) => {
    const values = r.runs.get(setup)!.map(pick);
    const low = Math.min(...values);
    const high = Math.max(...values);
    return values.length > 1 && low !== high
      ? `${format(median(values))} (${format(low)}–${format(high)})`
      : format(median(values));
  };
  const p = (key: keyof Timings, q: number): Pick => (run) => percentile(run.timings[key], q);
  const ms = (n: number) => msNumber(n);
  const count = (n: number) => String(n);
  const worst = (pick: Pick) => Math.max(...threeNodes.map(pick));
  const verdict = (pass: boolean) => pass ? "pass" : "**FAIL**";
  const rows: [string, Pick, (n: number) => string, string, string][] = [
    [
      "failed device steps",
      (run) => run.failures.count,
      count,
      "0",
      verdict(worst((run) => run.failures.count) === 0),
    ],
    [
      "devices logged in at once",
      (run) => run.loggedIn,
      count,
      `${r.devices}`,
      verdict(threeNodes.every((run) => run.loggedIn === r.devices)),
    ],
    [
      "SCS answers equal to the local computation",
      (run) => run.counts.scsCorrect,
      count,
      `${4 * r.devices}`,
      verdict(threeNodes.every((run) => run.counts.scsCorrect === 4 * r.devices)),
    ],
    [
      "AED listing exactly the others (whole network)",
      (run) => run.counts.aedComplete,
      count,
      `${r.devices}`,
      verdict(threeNodes.every((run) => run.counts.aedComplete === r.devices)),
    ],
    [
      "messages delivered online / arrived",
      (run) => run.messagesArrived,
      count,
      `${r.devices}`,
      verdict(
        threeNodes.every((run) =>
          run.counts.messagesOnline === r.devices && run.messagesArrived === r.devices
        ),
      ),
    ],
    ["login p50 (ms)", p("login", 50), ms, "—", "—"],
    ["login p99 (ms)", p("login", 99), ms, "—", "—"],
    ["UED p50 (ms)", p("ued", 50), ms, "—", "—"],
    [
      "UED p99 (ms)",
      p("ued", 99),
      ms,
      `< ${TARGETS.uedP99Ms.toLocaleString("en")}`,
      verdict(worst(p("ued", 99)) < TARGETS.uedP99Ms),
    ],
    ["SCS p50 (ms)", p("scs", 50), ms, "—", "—"],
    [
      "SCS p99 (ms)",
      p("scs", 99),
      ms,
      `< ${TARGETS.scsP99Ms}`,
      verdict(worst(p("scs", 99)) < TARGETS.scsP99Ms),
    ],
    ["AED p99 (ms)", p("aed", 99), ms, "—", "—"],
    ["message p50 (ms)", p("message", 50), ms, "—", "—"],
    ["message p99 (ms)", p("message", 99), ms, "—", "—"],
    [
      `${r.devices.toLocaleString("en")} logins at once, wall (s)`,
      (run) => run.loginSeconds,
      (n) => n.toFixed(2),
      "—",
      "—",
    ],
    [
      "work phase wall (s): every device's UED, 4×SCS, AED, message",
      (run) => run.workSeconds,
      (n) => n.toFixed(2),
      "—",
      "—",
    ],
    [
      "throughput: devices' work done per second",
      (run) => r.devices / run.workSeconds,
      (n) => n.toFixed(0),
      "—",
      "—",
    ],
    [
      "throughput: uploaded MB/s",
      (run) => r.devices * r.fileBytes / 1e6 / run.workSeconds,
      (n) => n.toFixed(1),
      "—",
      "—",
    ],
    ["CPU s of the work phase: servers", (run) => run.serverCpu, (n) => n.toFixed(2), "—", "—"],
    [
      "CPU s of the work phase: PostgreSQL and the rest",
      (run) => run.othersCpu,
      (n) => n.toFixed(2),
      "—",
      "—",
    ],
    [
      "CPU s of the work phase: the load driver (every device's connection)",
      (run) => run.driverCpu,
      (n) => n.toFixed(2),
      "—",
      "—",
    ],
    [
      "CPU ms of the whole machine per device's work (all of the above / devices)",
      (run) => (run.serverCpu + run.othersCpu + run.driverCpu) * 1000 / r.devices,
      (n) => n.toFixed(1),
      "—",
      "—",
    ],
  ];
  const header = ["figure", ...SETUPS.map((s) => s.label), "target (3 nodes)", "3 nodes"];
  const loadTable = table(
    header,
    rows.map(([name, pick, format, target, pass]) => [
      name,
      ...SETUPS.map((setup) => cell(setup, pick, format)),
      target,
      pass,
    ]),
  );
  const across = percentile(r.latency.crossNode, 99);
  const noticed = r.notices.map((n) => n.offlineMs);
  const again = r.notices.map((n) => n.loginAgainMs);
  const spread = (values: number[]) =>
    values.some(Number.isNaN)
      ? `not within ${NOTICE_TARGET_MS * 2} ms in ${
        values.filter(Number.isNaN).length
      } of ${values.length}`
      : `${formatMs(median(values))} (${formatMs(Math.min(...values))}–${
        formatMs(Math.max(...values))
      })`;
  const idleTable = table(["figure", "measured", "beside it", "target", ""], [
    [
      `cross-node message p50 / p99 (${r.latency.crossNode.length} messages, node a → node b)`,
      `${formatMs(percentile(r.latency.crossNode, 50))} / ${formatMs(across)}`,
      `same node: ${formatMs(percentile(r.latency.sameNode, 50))} / ${
        formatMs(percentile(r.latency.sameNode, 99))
      }`,
      `p99 < ${CROSS_NODE_P99_TARGET_MS} ms`,
      verdict(across < CROSS_NODE_P99_TARGET_MS),
    ],
    [
      `\`kill -9\` of a node to all its ${DOOMED_DEVICES} devices offline on another (median and range of ${r.notices.length})`,
      spread(noticed),
      "—",
      `< ${NOTICE_TARGET_MS.toLocaleString("en")} ms (SPEC §9)`,
      verdict(noticed.every((n) => n < NOTICE_TARGET_MS)),
    ],
    [
      "`kill -9` of a node to one of its devices logged in again through another",
      spread(again),
      "—",
      `< ${NOTICE_TARGET_MS.toLocaleString("en")} ms (SPEC §9)`,
      verdict(again.every((n) => n < NOTICE_TARGET_MS)),
    ],
  ]);
  const failures = [...r.runs].flatMap(([setup, runs]) =>
    runs.flatMap((run, i) => run.quoted.map((f) => `${setup.label}, run ${i + 1}: ${f}`))
  );
  const complaints = [...r.runs].flatMap(([setup, runs]) =>
    runs.flatMap((run, i) => run.complaints.map((c) => `${setup.label}, run ${i + 1}: ${c}`))
  );
  return [
    `## Cluster: ${
      r.devices.toLocaleString("en")
    } devices on one node and on three (SQLite and PostgreSQL)`,
    "",
    `The load test's first phase (\`scripts/bench/cluster.ts\`): ${
      r.devices.toLocaleString("en")
    } ` +
    `devices log in at once, each uploads a file of ${(r.fileBytes / 1e3).toFixed(0)} kB ` +
    "(UED), asks the four SCS operations and AED and messages a random other device, then " +
    "all log out. Three setups of real `iotnet server` processes (fast hashing), each on a " +
    "new data directory and, for PostgreSQL, a new database of a throwaway PostgreSQL 15 " +
    "with fsync on: one node on SQLite (no `--cluster`), one node on PostgreSQL, three " +
    "nodes on PostgreSQL with the devices spread over them in turn (so two messages in " +
    `three cross nodes). ${r.rounds} runs of each setup, taking turns; each cell is the ` +
    "median of the runs with their range. One driver process on the same " +
    `${navigator.hardwareConcurrency}-core machine drives every connection. Every device ` +
    "starts its upload at once, so the UED p99 is about the work phase's length: the whole " +
    "machine's CPU per device's work (last row) times the devices, over the cores.",
    "",
    loadTable,
    "",
    "On an idle three-node network: one device messages a device on another node and one " +
    `on its own node in turn, one message at a time ${LATENCY_GAP_MS} ms apart, timed from ` +
    "the request sent to the recipient reading the push; then a node holding " +
    `${DOOMED_DEVICES} devices is killed with \`kill -9\` while a device on another node ` +
    "watches presence.",
    "",
    idleTable,
    "",
    ...(failures.length > 0
      ? ["Failures quoted:", "", ...failures.slice(0, 10).map((f) => `- ${f}`), ""]
      : []),
    ...(complaints.length > 0
      ? [
        "Lines of the nodes' logs that say something went wrong:",
        "",
        ...complaints.slice(0, 10).map((c) => `- ${c}`),
        "",
      ]
      : ["The nodes logged nothing that says something went wrong.", ""]),
    `Whole run ${r.minutes.toFixed(1)} minutes.`,
  ].join("\n");
}
