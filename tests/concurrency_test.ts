import assert from "node:assert/strict";
import { EdgeProcess } from "./_helpers/edge_process.ts";
import { ServerProcess } from "./_helpers/server_process.ts";

Deno.test("an idle device is logged out after --idle-timeout and told why", async () => {
  await using server = await ServerProcess.start({ args: ["--idle-timeout", "1"] });
  await using edge = await EdgeProcess.start(server, { login: "watch1" });
  const logout = await edge.next((j) => j.event === "logout", 10_000);
  assert.equal(logout.reason, "idle");
  assert.match(String(logout.message), /after 1 s without a command/);
  assert.equal((await edge.exited()).code, 1);
  await server.waitForLog(/watch1 left \(logged out after 1 s without a command\)/);
});
