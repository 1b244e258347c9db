/**
 * Failed logins count on every node of a network (SPEC §1, §9): each attempt reserves its
 * place in the shared count before its check runs, so guesses fired in parallel across the
 * nodes never get more than `<attempts>` checks before the name is blocked everywhere.
 */

import assert from "node:assert/strict";
import { loginWithKey } from "../client/key_login.ts";
import { ManualClock } from "../internal/clock.ts";
import { RequestError } from "../protocol/errors.ts";
import { HASH_PROFILES } from "../server/password_hash.ts";
import { PostgresDatabase } from "../server/store/postgres/database.ts";
import { credentialsLine, generateDeviceKey, importDevicePrivateKey } from "../tls/device_key.ts";
import { ClusterNode } from "./_helpers/cluster_node.ts";
import type { EdgeConnection } from "../client/connection.ts";
import { postgresInstalled, startPostgres } from "./_helpers/postgres_cluster.ts";

const ATTEMPTS = 3;
const BLOCK_SECONDS = 10;
const GUESSES = 30;

/** One login on a new connection to `node`: "ok", or the error code the node answered. */
async function attempt(
  node: ClusterNode,
  login: (connection: EdgeConnection) => Promise<unknown>,
): Promise<string> {
  const { connection } = await node.connect();
  try {
    await login(connection);
    return "ok";
  } catch (error) {
    if (!(error instanceof RequestError)) throw error;
    return error.code;
  } finally {
    connection.close();
  }
}

/** How many of each answer. */
function tally(answers: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) counts[answer] = (counts[answer] ?? 0) + 1;
  return counts;
}

Deno.test({
  name:
    "30 wrong guesses fired in parallel across 3 nodes get 3 checks; the name is then blocked on every node, right password and key too",
  ignore: !postgresInstalled(),
  async fn(t) {
    await using pg = await startPostgres("lockout across nodes");
    const url = await pg!.database();
    const watch3 = await generateDeviceKey();
    const wrongKey = await importDevicePrivateKey((await generateDeviceKey()).privatePem);
    const rightKey = await importDevicePrivateKey(watch3.privatePem);
    // One clock for the three nodes: the test moves past the block instead of waiting.
    const clock = new ManualClock(Date.now());
    const options = {
      attempts: ATTEMPTS,
      blockSeconds: BLOCK_SECONDS,
      clock,
      hashParams: HASH_PROFILES.fast,
      credentials: `watch1 pw1\n${credentialsLine("watch3", watch3.publicKey)}\n`,
    };
    await using a = await ClusterNode.start(url, "node-a", options);
    await using b = await ClusterNode.start(url, "node-b", options);
    await using c = await ClusterNode.start(url, "node-c", options);
    const nodes = [a, b, c];
    const db = await PostgresDatabase.open(url);
    const reserved = async (name: string) =>
      (await db.sql<{ failures: number }[]>`
        SELECT failures FROM lockouts WHERE device = ${name}`)[0]?.failures;

    try {
      for (
        const { name, guess, right } of [
          {
            name: "watch1",
            guess: (c: EdgeConnection) => c.request("login", { name: "watch1", password: "nope" }),
            right: (c: EdgeConnection) => c.request("login", { name: "watch1", password: "pw1" }),
          },
          {
            name: "watch3",
            guess: (c: EdgeConnection) => loginWithKey(c, { key: wrongKey, name: "watch3" }),
            right: (c: EdgeConnection) => loginWithKey(c, { key: rightKey, name: "watch3" }),
          },
        ]
      ) {
        await t.step(`${name}: ${GUESSES} parallel guesses, ${ATTEMPTS} checked`, async () => {
          const answers = await Promise.all(
            Array.from({ length: GUESSES }, (_, i) => attempt(nodes[i % 3]!, guess)),
          );
          // The first two reservations' checks say "bad credentials"; the third's failure
          // blocks the name; every other guess was refused before any check.
          assert.deepEqual(tally(answers), {
            bad_credentials: ATTEMPTS - 1,
            blocked: GUESSES - ATTEMPTS + 1,
          });
          assert.equal(await reserved(name), ATTEMPTS, "attempts reserved, so checked");
        });

        await t.step(
          `${name}: the right credentials are refused on every node until the block ends`,
          async () => {
            for (const node of nodes) assert.equal(await attempt(node, right), "blocked");
            clock.advance(BLOCK_SECONDS * 1000 - 1);
            for (const node of nodes) assert.equal(await attempt(node, right), "blocked");
            clock.advance(1);
            assert.equal(await attempt(b, right), "ok");
            assert.equal(await reserved(name), undefined, "a success clears the count");
          },
        );
      }
    } finally {
      await db.close();
    }
  },
});
