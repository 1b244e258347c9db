import assert from "node:assert/strict";
import { POSTGRES_POOL_SIZE, PostgresDatabase } from "../server/store/postgres/database.ts";
import { decodeNodeJob } from "../server/cluster/node_job.ts";
import { postgresLoginAttempts } from "../server/store/postgres/login_attempts.ts";
import { NODE_JOBS_CHANNEL, postgresNodeJobs } from "../server/store/postgres/node_jobs.ts";
import { NotificationListener } from "../server/store/postgres/notification_listener.ts";
import { systemClock } from "../internal/mod.ts";
import { postgresStore } from "../server/store/postgres/store.ts";
import { SAMPLE_FILE, stepStoreContract } from "../server/store/store_contract.ts";
import { postgresInstalled, startPostgres } from "./_helpers/postgres_cluster.ts";
import { within } from "./_helpers/wait.ts";

/** The stores of nodes `ids` on the database at `url`, closed together on disposal. */
async function nodeStores(url: string, ids: string[]) {
  const stores = await Promise.all(
    ids.map(async (id) => postgresStore(await PostgresDatabase.open(url), id)),
  );
  return Object.assign(stores, {
    [Symbol.asyncDispose]: async () => void await Promise.all(stores.map((s) => s.close())),
  });
}

Deno.test({
  name: "store contract (PostgreSQL)",
  ignore: !postgresInstalled(),
  async fn(t) {
    await using pg = await startPostgres("store contract (PostgreSQL)");
    await stepStoreContract(t, {
      name: "PostgreSQL",
      async location() {
        const url = await pg!.database();
        return {
          open: async (options) =>
            postgresStore(await PostgresDatabase.open(url), "node1", options),
          [Symbol.asyncDispose]: () => pg!.dropDatabase(url),
        };
      },
    });
    await t.step("a write's commit is timed, a read is not (no commit)", async () => {
      const url = await pg!.database();
      const seconds: number[] = [];
      const store = postgresStore(await PostgresDatabase.open(url), "node1", {
        commitSeconds: (s) => seconds.push(s),
      });
      try {
        await store.blocks.add("a", "b");
        await store.presenceHistory.markSeen("a", 1);
        assert.equal(seconds.length, 2);
        await store.blocks.isBlocked("a", "b");
        await store.presenceHistory.visits("a", 10);
        await store.files.list();
        await store.lockouts.until("a");
        assert.equal(seconds.length, 2);
        // A write that fails is not a commit.
        // (a time that is no bigint: PostgreSQL refuses it)
        await assert.rejects(
          store.presenceHistory.recordVisit("a", { since: 0.5, until: null, reason: null, ip: "" }),
        );
        assert.equal(seconds.length, 2);
      } finally {
        await store.close();
        await pg!.dropDatabase(url);
      }
    });
    await t.step("reads go over a pool of their own, whose connections refuse writes", async () => {
      const url = await pg!.database();
      const db = await PostgresDatabase.open(url, { applicationName: "iotnet pools" });
      const store = postgresStore(db, "node1");
      try {
        await assert.rejects(
          db.reads`INSERT INTO blocks (blocker, blocked) VALUES ('a', 'b')`,
          /read-only transaction/,
        );
        // A write and the reads after it: the reads see it, over the other pool.
        await store.blocks.add("a", "b");
        assert.equal(await store.blocks.isBlocked("a", "b"), true);
        const [{ n }] = await db.sql<[{ n: number }]>`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE application_name = 'iotnet pools reads' AND datname = current_database()`;
        assert.equal(n, 1);
      } finally {
        await store.close();
        await pg!.dropDatabase(url);
      }
    });
    await t.step(
      "a presence read waits for the marks asked for before it, though reads have a pool of their own",
      async () => {
        const url = await pg!.database();
        const db = await PostgresDatabase.open(url);
        const store = postgresStore(db, "node1");
        try {
          // Every write connection busy for a while: the mark waits behind them, the read
          // pool is free.
          const busy = Array.from(
            { length: POSTGRES_POOL_SIZE },
            () => db.sql`SELECT pg_sleep(0.3)`.then(() => {}),
          );
          const marked = store.presenceHistory.markSeen("watch1", 100);
          assert.deepEqual(await store.presenceHistory.seenSince(50), ["watch1"]);
          assert.equal(await store.presenceHistory.lastSeen("watch1"), 100);
          await Promise.all([marked, ...busy]);
        } finally {
          await store.close();
          await pg!.dropDatabase(url);
        }
      },
    );
    await t.step(
      "plot summaries are stored uncompressed (pglz cost more than it saved), with records only",
      async () => {
        const url = await pg!.database();
        const db = await PostgresDatabase.open(url);
        try {
          const columns = await db.sql<{ table: string; storage: string }[]>`
          SELECT c.relname AS table, a.attstorage AS storage
          FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
          WHERE a.attname = 'plot' AND NOT a.attisdropped
            AND c.relname IN ('files', 'pending_uploads')
          ORDER BY c.relname`;
          assert.deepEqual([...columns], [{ table: "files", storage: "e" }]);
        } finally {
          await db.close();
          await pg!.dropDatabase(url);
        }
      },
    );
  },
});

Deno.test({
  name: "two nodes storing messages for one recipient at once never pass its mailbox's limit",
  ignore: !postgresInstalled(),
  async fn() {
    await using pg = await startPostgres("mailbox limits across nodes");
    await using nodes = await nodeStores(await pg!.database(), ["node1", "node2"]);
    const limits = {
      maxCount: 5,
      maxBytes: 1_000,
      maxCountPerSender: 5,
      maxBytesPerSender: 1_000,
    };
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        nodes[i % 2]!.mailbox.add(
          { recipient: "b", sender: `s${i % 3}`, text: `m${i}`, sentAt: i },
          limits,
        )),
    );
    assert.equal(results.filter((r) => "id" in r).length, 5);
    assert.equal((await nodes[0]!.mailbox.pending("b")).length, 5);
  },
});

Deno.test({
  name: "three nodes reserving login attempts for one name at once never pass the attempts",
  ignore: !postgresInstalled(),
  async fn() {
    await using pg = await startPostgres("login attempts across nodes");
    await using nodes = await nodeStores(await pg!.database(), ["node1", "node2", "node3"]);
    const rules = { now: 1_000, attempts: 3, blockMs: 10_000 };
    for (let round = 0; round < 5; round++) {
      const now = 1_000 + round * 10_000;
      const reservations = await Promise.all(
        Array.from(
          { length: 30 },
          (_, i) => nodes[i % 3]!.loginAttempts.reserve("watch1", { ...rules, now }),
        ),
      );
      const granted = reservations.flatMap((r) => r.granted ? [r.number] : []);
      assert.deepEqual(granted.sort(), [1, 2, 3], `round ${round}`);
      // The last attempt's hold ends with the round: the next starts afresh.
    }
  },
});

Deno.test({
  name: "rows of failed logins for made-up names stay bounded; blocks are kept",
  ignore: !postgresInstalled(),
  async fn() {
    await using pg = await startPostgres("login attempt rows bounded");
    const db = await PostgresDatabase.open(await pg!.database());
    try {
      const attempts = postgresLoginAttempts(db.sql, { maxTracked: 3, sweepEvery: 5 });
      const rules = { now: 1_000, attempts: 1, blockMs: 1_000_000 };
      // A block, then a flood of made-up names failing once each (attempts 2: no blocks).
      await attempts.reserve("victim", rules);
      await attempts.failed("victim", 1, rules);
      for (let i = 0; i < 9; i++) {
        await attempts.reserve(`ghost${i}`, { ...rules, now: 2_000 + i, attempts: 2 });
      }
      // Two sweeps ran (reservations 5 and 10): the three most recent counts are left.
      const rows = await db.sql<{ device: string }[]>`
        SELECT device FROM lockouts ORDER BY device`;
      assert.deepEqual(rows.map((r) => r.device), ["ghost6", "ghost7", "ghost8", "victim"]);
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name:
    "a record taken from the node holding its file queues a job for that node and wakes it: a delete or an upload through another node",
  ignore: !postgresInstalled(),
  async fn() {
    await using pg = await startPostgres("node jobs");
    const url = await pg!.database();
    const [db1, db2] = [await PostgresDatabase.open(url), await PostgresDatabase.open(url)];
    const [node1, node2] = [postgresStore(db1, "node1"), postgresStore(db2, "node2")];
    const woken: string[] = [];
    const wake = Promise.withResolvers<void>();
    const listening = Promise.withResolvers<void>();
    const listener = new NotificationListener(db1, {
      channels: [NODE_JOBS_CHANNEL],
      onNotify: (_channel, payload) => {
        woken.push(payload);
        wake.resolve();
      },
      onListening: () => listening.resolve(),
      onProblem: () => {},
      clock: systemClock,
    });
    await listener.start();
    try {
      await listening.promise;
      const jobs = postgresNodeJobs(db1.sql, "node1");
      const queued = async () =>
        (await jobs.take(0, 10)).map((row) => ({ id: row.id, ...decodeNodeJob(row) }));

      await node1.files.put(SAMPLE_FILE);
      assert.equal(await node1.files.holds("watch1", 7), true);
      assert.equal(await node2.files.holds("watch1", 7), false);
      assert.deepEqual(await node2.files.held(), []);
      assert.deepEqual(await node2.files.get("watch1", 7), SAMPLE_FILE, "records are everyone's");

      // DTE through node2 of node1's file: the record goes for everyone, node1 gets a job.
      const pending = { device: "watch1", fileID: 7, count: 3, deletedAt: 5, logOffset: 0 };
      assert.equal(await node2.files.beginDelete(pending), true);
      assert.equal(await node1.files.get("watch1", 7), undefined);
      await within(wake.promise, "the NOTIFY", 10_000);
      assert.deepEqual(woken, ["node1"]);
      const [job] = await queued();
      assert.deepEqual(job?.job, {
        kind: "remove_file",
        device: "watch1",
        fileID: 7,
        reason: "deleted",
        by: "node2",
      });
      assert.deepEqual(await node2.files.pendingDeletes(), [pending], "node2 journals it");
      assert.deepEqual(await node1.files.pendingDeletes(), []);
      await jobs.done(job!.id);
      assert.deepEqual(await queued(), []);

      // The file uploaded again through node2: node1's copy is not wanted.
      await node1.files.put(SAMPLE_FILE);
      await node2.files.beginUpload({ ...SAMPLE_FILE, count: 4, ino: 1, logOffset: 0 });
      await node2.files.finishUpload({ ...SAMPLE_FILE, count: 4 });
      assert.equal(await node2.files.holds("watch1", 7), true);
      assert.deepEqual(await node2.files.held(), [{ ...SAMPLE_FILE, count: 4 }]);
      assert.deepEqual((await queued()).map((j) => j.job?.reason), ["replaced"]);

      // Changes to a node's own file leave nobody a job.
      await node2.files.put({ ...SAMPLE_FILE, count: 5 });
      await node2.files.beginDelete(pending);
      assert.deepEqual((await queued()).map((j) => j.job?.reason), ["replaced"]);
      assert.deepEqual(await postgresNodeJobs(db2.sql, "node2").take(0, 10), []);

      // node1 crashed between renaming an upload into place and recording it; the file was
      // then uploaded again through node2. node1, back, finishes its upload: too old.
      const older = { ...SAMPLE_FILE, fileID: 11, count: 1 };
      const newer = { ...SAMPLE_FILE, fileID: 11, count: 2 };
      await node1.files.beginUpload({ ...older, ino: 2, logOffset: 0 });
      await node2.files.beginUpload({ ...newer, ino: 3, logOffset: 0 });
      assert.equal(await node2.files.finishUpload(newer), true);
      assert.equal(await node1.files.finishUpload(older), false);
      assert.deepEqual(await node1.files.get("watch1", 11), newer);
      assert.equal(await node2.files.holds("watch1", 11), true);
      assert.deepEqual(await node1.files.pendingUploads(), [], "its journal row goes all the same");
      assert.deepEqual(await postgresNodeJobs(db2.sql, "node2").take(0, 10), [], "nor a job");
      // A newer upload through node1 replaces it again.
      await node1.files.beginUpload({ ...older, ino: 4, logOffset: 0 });
      assert.equal(await node1.files.finishUpload(older), true);
      assert.deepEqual(await node2.files.get("watch1", 11), older);
    } finally {
      await listener.close();
      await Promise.all([node1.close(), node2.close()]);
    }
  },
});

Deno.test({
  name:
    "a transaction begun behind a full pipeline of writes stays one transaction, and nothing written around it is left uncommitted",
  ignore: !postgresInstalled(),
  async fn() {
    // postgres.js 3.4.9's sql.begin sends BEGIN without reserving the connection when
    // BEGIN is the query that fills a busy connection's pipeline (porsager/postgres#1189):
    // the transaction failed with UNSAFE_TRANSACTION while PostgreSQL kept it open, and the
    // writes pipelined after it ran inside it, reported done but never committed.
    await using pg = await startPostgres("transactions behind a full pipeline");
    const url = await pg!.database();
    const db = await PostgresDatabase.open(url, { poolSize: 2 });
    const store = postgresStore(db, "node1");
    try {
      // Every statement prepared on both connections first: a statement not yet described
      // stops the pipeline, so the writes below pipeline 100 deep on each connection.
      for (let round = 0; round < 3; round++) {
        await Promise.all(
          Array.from({ length: 4 }, (_, i) => store.blocks.add(`warm${i}`, `${round}`)),
        );
      }
      const before = 12;
      const writes: Promise<boolean>[] = [];
      for (let i = 0; i < 200; i++) writes.push(store.blocks.add(`a${i}`, "b"));
      // The writes above reach the pool a few microtasks after their calls; the message
      // below (a transaction) is to come after them, as the 201st statement.
      for (let i = 0; i < 4; i++) await Promise.resolve();
      const message = { recipient: "b", sender: "a", text: "hi", sentAt: 1 };
      const stored = store.mailbox.add(message, ROOMY_LIMITS);
      for (let i = 200; i < 300; i++) writes.push(store.blocks.add(`a${i}`, "b"));
      assert.ok("id" in await stored);
      assert.equal((await Promise.all(writes)).filter(Boolean).length, 300);

      // Seen from another node's connections: all of it committed, no transaction open.
      const other = await PostgresDatabase.open(url, { poolSize: 1 });
      try {
        const [{ n }] = await other.sql<[{ n: number }]>`SELECT count(*)::int AS n FROM blocks`;
        assert.equal(n, before + 300);
        assert.equal((await postgresStore(other, "node2").mailbox.pending("b")).length, 1);
        const [{ open }] = await other.sql<[{ open: number }]>`
          SELECT count(*)::int AS open FROM pg_stat_activity
          WHERE state LIKE 'idle in transaction%' AND datname = current_database()`;
        assert.equal(open, 0);
      } finally {
        await other.close();
      }
    } finally {
      await store.close();
    }
  },
});

const ROOMY_LIMITS = {
  maxCount: 1000,
  maxBytes: 1_000_000,
  maxCountPerSender: 1000,
  maxBytesPerSender: 1_000_000,
};

Deno.test({
  name:
    "a transaction whose connection is lost fails and leaves nothing; the next one runs on a new connection",
  ignore: !postgresInstalled(),
  async fn() {
    await using pg = await startPostgres("a transaction's connection lost");
    const url = await pg!.database();
    const db = await PostgresDatabase.open(url, { applicationName: "iotnet lost" });
    try {
      await db.sql`CREATE TABLE notes (n int)`;
      const inside = Promise.withResolvers<void>();
      const ended = Promise.withResolvers<void>();
      const lost = db.transact(async (tx) => {
        await tx`INSERT INTO notes VALUES (1)`;
        inside.resolve();
        await ended.promise;
        // The connection is gone: this fails instead of running outside the transaction.
        await tx`INSERT INTO notes VALUES (2)`;
      });
      lost.catch(() => {});
      await inside.promise;
      const ends = await db.sql<{ ended: boolean }[]>`
        SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
        WHERE application_name = 'iotnet lost transactions' AND state = 'idle in transaction'
          AND datname = current_database()`;
      assert.deepEqual(ends.map((r) => r.ended), [true]);
      await assert.rejects(
        within(lost, "the transaction to fail", 10_000),
        /closed during a transaction/,
      );
      ended.resolve();
      assert.deepEqual([...await db.sql`SELECT n FROM notes`], []);
      // Both connections take transactions again (the lost one reconnects).
      await Promise.all(
        [3, 4].map((n) => db.transact((tx) => tx`INSERT INTO notes VALUES (${n})`)),
      );
      assert.deepEqual(
        [...await db.sql<{ n: number }[]>`SELECT n FROM notes ORDER BY n`].map((r) => r.n),
        [3, 4],
      );
    } finally {
      await db.close();
    }
  },
});
