/**
 * A server as a node of a network (SPEC §9): its term, lease and sweeps
 * (`node_liveness.ts`), its registry (`cluster_devices.ts`) and the LISTEN connection that
 * feeds it (presence on {@linkcode PRESENCE_CHANNEL}, the node's inbox on its own
 * channel), wired together.
 *
 * @module
 */

import type { Clock } from "../../internal/mod.ts";
import type { ActiveDevices } from "../active_devices.ts";
import type { PostgresDatabase } from "../store/postgres/database.ts";
import { inboxChannel, type Sweep } from "../store/postgres/node_rows.ts";
import { NotificationListener } from "../store/postgres/notification_listener.ts";
import { ClusterDevices } from "./cluster_devices.ts";
import { type LivenessTiming, NodeLiveness } from "./node_liveness.ts";
import { PRESENCE_CHANNEL } from "./presence_notice.ts";

/** Options of {@linkcode startClusterNode}. */
export interface ClusterNodeOptions {
  db: PostgresDatabase;
  /** This node's id. */
  node: string;
  /** The clock of the node's heartbeat, lease deadline, sweeps and LISTEN retries. */
  clock: Clock;
  /** The view of the network's devices (it writes `edge-device-log.txt`). */
  view: ActiveDevices;
  /** Heartbeat, lease and sweep figures; the defaults of `node_liveness.ts` if not given. */
  timing?: LivenessTiming;
  /** The devices that block `device`. */
  blockersOf(device: string): Promise<Set<string>>;
  /** Tells this node's devices that `device` came or went. */
  announce(device: string, state: "online" | "offline"): void;
  /**
   * A device was swept from the network (its node died, or an earlier start of this node
   * left it): record that it was seen until now, end its private chats. Told once, by the
   * node that swept it.
   */
  swept(device: string): void;
  /** Ends every device session here, telling each why (the node fenced itself). */
  endSessions(why: string): void;
  log(line: string): void;
}

/** A running node. */
export interface ClusterNode {
  /** The registry the server's commands use. */
  readonly devices: ClusterDevices;
  /** Ends the node's term, stops listening; the database pool stays open. */
  close(): Promise<void>;
}

/**
 * Starts a node: its first term, then LISTEN, then a first read of the registry.
 *
 * @throws {StoreError} when another server runs with this node id.
 * @throws the database's error when it cannot be used.
 */
export async function startClusterNode(options: ClusterNodeOptions): Promise<ClusterNode> {
  const { db, node, clock, log } = options;
  const liveness: NodeLiveness = new NodeLiveness(db, {
    node,
    clock,
    ...(options.timing && { timing: options.timing }),
    events: {
      onTerm: (_term, cleared) => {
        reportSweep(cleared, "an earlier start of this node", options);
        void devices.resync();
      },
      onFenced: (why) => {
        devices.fenced();
        options.endSessions(why);
      },
      onSweep: (sweep) => {
        reportSweep(sweep, "", options);
        devices.swept(sweep.stored);
      },
      log,
    },
  });
  const devices = new ClusterDevices({
    sql: db.sql,
    transact: db.transact,
    node,
    liveness,
    view: options.view,
    blockersOf: options.blockersOf,
    announce: options.announce,
    log,
  });
  await liveness.start();
  const listener = new NotificationListener(db, {
    channels: [PRESENCE_CHANNEL, inboxChannel(liveness.term!.lockKey)],
    onNotify: (channel, payload) => {
      if (channel === PRESENCE_CHANNEL) devices.onPresence(payload);
      else devices.onInbox();
    },
    onListening: () => void devices.resync(),
    onProblem: (problem) => log(`cluster: ${problem}`),
    clock,
  });
  try {
    await listener.start();
  } catch (error) {
    await liveness.close();
    throw error;
  }
  return {
    devices,
    async close() {
      await devices.close();
      await liveness.close();
      await listener.close();
      // Notices heard until the listener closed (other nodes closing too, a sweep) may
      // have changed the view: what they started, the log's rewrite included, ends here,
      // before the server lets its data directory go.
      await devices.close();
      await devices.flushed();
    },
  };
}

/** Logs a sweep and records when its devices were last seen. */
function reportSweep(
  sweep: Sweep,
  what: string,
  options: Pick<ClusterNodeOptions, "log" | "swept">,
): void {
  const gone = sweep.devices.filter((d) => d.wasActive).map((d) => d.name);
  if (gone.length === 0 && sweep.stored.length === 0 && what !== "") return;
  for (const name of gone) options.swept(name);
  for (const term of sweep.terms) {
    const names = sweep.devices.filter((d) => d.node === term.node && d.wasActive)
      .map((d) => d.name);
    const who = what || `node ${term.node} (epoch ${term.epoch}) is gone`;
    options.log(
      `cluster: ${who}: ${
        names.length === 0
          ? "no devices were"
          : `${names.join(", ")} ${names.length === 1 ? "was" : "were"}`
      } logged in through it, now offline` +
        (sweep.stored.length > 0 ? `; messages waiting for ${sweep.stored.join(", ")} stored` : ""),
    );
  }
}
