/**
 * A node's hold on the network (`server/cluster/node_liveness.ts`), its timers on a manual
 * clock and its lease on a real PostgreSQL: the node's own deadline fences it before the
 * database's lease ends, a frozen node fences before it serves, a lost lock connection
 * fences at once, and a fenced node starts a new term once it can.
 */

import assert from "node:assert/strict";
import postgres from "postgres";
import { ManualClock } from "../internal/mod.ts";
import { UnavailableError } from "../protocol/errors.ts";
import { PostgresDatabase } from "../server/store/postgres/database.ts";
import type { NodeTerm } from "../server/store/postgres/node_rows.ts";
import { postgresInstalled, startPostgres } from "./_helpers/postgres_cluster.ts";
import { waitUntil } from "./_helpers/wait.ts";
import {
  HEARTBEAT_MS,
  LEASE_MS,
  NodeLiveness,
  RESTART_RETRY_MS,
} from "../server/cluster/node_liveness.ts";

/**
 * A manual clock whose reading can also jump ahead without its timers running, as a
 * process frozen with SIGSTOP finds on SIGCONT.
 */
class FreezableClock extends ManualClock {
  #frozenMs = 0;

  override now(): number {
    return super.now() + this.#frozenMs;
  }

  /** The time spent frozen: the clock reads `ms` later, and no timer has run. */
  freeze(ms: number): void {
    this.#frozenMs += ms;
  }
}

/** A node's liveness on a fresh database, its timers on a manual clock, what it told. */
async function liveNode(url: string) {
  const db = await PostgresDatabase.open(url, { applicationName: "iotnet node1" });
  const clock = new FreezableClock();
  const told = { terms: [] as NodeTerm[], fenced: [] as string[], log: [] as string[] };
  const liveness = new NodeLiveness(db, {
    node: "node1",
    clock,
    events: {
      onTerm: (term) => told.terms.push(term),
      onFenced: (why) => told.fenced.push(why),
      onSweep: () => {},
      log: (line) => told.log.push(line),
    },
  });
  await liveness.start();
  return {
    liveness,
    clock,
    told,
    async [Symbol.asyncDispose]() {
      await liveness.close();
      await db.close();
    },
  };
}

Deno.test({
  name:
    "a node whose renewals hang fences itself when its own deadline passes, then starts a new term once it can",
  ignore: !postgresInstalled(),
  async fn() {
    await using pg = await startPostgres("liveness: a hung renewal");
    const url = await pg!.database();
    await using node = await liveNode(url);
    const { liveness, clock, told } = node;
    assert.equal(told.terms.length, 1);
    assert.deepEqual(liveness.serving(), told.terms[0]);

    // Another connection holds the node's row: the next renewal waits for it.
    const other = postgres(url, { max: 1, onnotice: () => {} });
    const holder = await other.reserve();
    try {
      await holder`BEGIN`;
      await holder`SELECT 1 FROM nodes WHERE node = 'node1' FOR UPDATE`;
      for (let t = HEARTBEAT_MS; t <= LEASE_MS; t += HEARTBEAT_MS) {
        clock.advance(HEARTBEAT_MS);
        // Not renewed, but not past the lease: still serving.
        assert.deepEqual(liveness.serving(), told.terms[0], `at ${t} ms`);
      }
      assert.deepEqual(told.fenced, []);
      clock.advance(HEARTBEAT_MS);
      assert.deepEqual(told.fenced, [
        `its lease was not renewed for ${LEASE_MS + HEARTBEAT_MS} ms (lease ${LEASE_MS} ms)`,
      ]);
      assert.throws(() => liveness.serving(), UnavailableError);
      assert.equal(liveness.term, undefined);
    } finally {
      await holder`COMMIT`;
      holder.release();
      await other.end();
    }
    // Fenced, it tries a new term after RESTART_RETRY_MS: a new epoch, serving again.
    clock.advance(RESTART_RETRY_MS);
    await waitUntil(() => told.terms.length === 2, "a new term");
    assert.equal(told.terms[1]!.epoch, told.terms[0]!.epoch + 1);
    assert.deepEqual(liveness.serving(), told.terms[1]);
  },
});

Deno.test({
  name:
    "a node that resumes past its lease fences itself before it serves; one whose lock connection closes, at once",
  ignore: !postgresInstalled(),
  async fn() {
    await using pg = await startPostgres("liveness: a frozen node, a lost lock");
    const url = await pg!.database();
    await using node = await liveNode(url);
    const { liveness, clock, told } = node;

    // Frozen for longer than the lease, no timer has run: the first command's check fences
    // before it is served.
    clock.freeze(LEASE_MS + 1);
    assert.throws(() => liveness.checkHold(), UnavailableError);
    assert.deepEqual(told.fenced, [
      `its lease was not renewed for ${LEASE_MS + 1} ms (lease ${LEASE_MS} ms)`,
    ]);

    clock.advance(RESTART_RETRY_MS);
    await waitUntil(() => told.terms.length === 2, "a new term");
    liveness.checkHold();

    // The connection holding the node's advisory lock is ended: fenced without waiting.
    const other = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const ended = await other<{ ended: boolean }[]>`
        SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
        WHERE application_name = 'iotnet node1 lock' AND datname = current_database()`;
      assert.deepEqual(ended.map((r) => r.ended), [true]);
    } finally {
      await other.end();
    }
    await waitUntil(() => told.fenced.length === 2, "the fence");
    assert.equal(told.fenced[1], "its connection holding the node's lock closed");
    assert.throws(() => liveness.serving(), UnavailableError);
  },
});
