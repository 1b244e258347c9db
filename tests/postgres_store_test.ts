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
          open: async () => postgresStore(await PostgresDatabase.open(url), "node1"),
          [Symbol.asyncDispose]: () => pg!.dropDatabase(url),
        };
      },
    });
  },
});
