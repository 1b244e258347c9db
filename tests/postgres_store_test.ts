import assert from "node:assert/strict";
import { PostgresDatabase } from "../server/store/postgres/database.ts";
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
