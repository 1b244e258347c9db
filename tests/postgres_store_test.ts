import assert from "node:assert/strict";
import { PostgresDatabase } from "../server/store/postgres/database.ts";
import { postgresLoginAttempts } from "../server/store/postgres/login_attempts.ts";
import { postgresStore } from "../server/store/postgres/store.ts";
import { stepStoreContract } from "../server/store/store_contract.ts";
import { postgresInstalled, startPostgres } from "./_helpers/postgres_cluster.ts";

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
          open: async () => postgresStore(await PostgresDatabase.open(url), "node1"),
          [Symbol.asyncDispose]: () => pg!.dropDatabase(url),
        };
      },
    });
  },
});

Deno.test({
  name: "two nodes storing messages for one recipient at once never pass its mailbox's limit",
  ignore: !postgresInstalled(),
  async fn() {
    await using pg = await startPostgres("mailbox limits across nodes");
    const url = await pg!.database();
    const nodes = [
      postgresStore(await PostgresDatabase.open(url), "node1"),
      postgresStore(await PostgresDatabase.open(url), "node2"),
    ];
    try {
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
    } finally {
      await Promise.all(nodes.map((store) => store.close()));
    }
  },
});

Deno.test({
  name: "three nodes reserving login attempts for one name at once never pass the attempts",
  ignore: !postgresInstalled(),
  async fn() {
    await using pg = await startPostgres("login attempts across nodes");
    const url = await pg!.database();
    const nodes = await Promise.all(
      ["node1", "node2", "node3"].map(async (id) =>
        postgresStore(await PostgresDatabase.open(url), id)
      ),
    );
    try {
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
    } finally {
      await Promise.all(nodes.map((store) => store.close()));
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
