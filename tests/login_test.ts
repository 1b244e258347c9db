import assert from "node:assert/strict";
import { EdgeProcess } from "./_helpers/edge_process.ts";
import { ServerProcess } from "./_helpers/server_process.ts";

Deno.test("three failed logins block the name, also from a second connection", async () => {
  // A block far longer than the test: starting the second edge process must not outlast it
  // on a loaded machine (with 2 s it did, at a load average of 26). Its end is tested in
  // virtual time.
  await using server = await ServerProcess.start({ attempts: 3, args: ["--block-seconds", "600"] });
  await using first = await EdgeProcess.start(server);
  await first.send("watch1", "wrong1", "wrong2", "wrong3");
  for (let i = 0; i < 2; i++) {
    const failed = await first.next((j) => j.event === "login");
    assert.deepEqual(
      { ok: failed.ok, error: failed.error },
      { ok: false, error: "bad_credentials" },
    );
  }
  const blocked = await first.next((j) => j.event === "login");
  assert.equal(blocked.error, "blocked");
  assert.match(String(blocked.message), /watch1 is blocked for 600 s/);
  assert.equal((await first.finish()).code, 1);

  // The right password from a new connection is refused while the block runs.
  await using second = await EdgeProcess.start(server);
  await second.send("watch1", "pw1");
  const stillBlocked = await second.next((j) => j.event === "login");
  assert.equal(stillBlocked.error, "blocked");
  assert.equal((await second.finish()).code, 1);

  // That it ends after --block-seconds, and that guesses during it do not extend it, is
  // tested in virtual time (server_timers_test.ts).
});

Deno.test("after a wrong password the edge asks again and logs in", async () => {
  await using server = await ServerProcess.start();
  await using edge = await EdgeProcess.start(server);
  await edge.send("watch1", "nope", "pw1");
  assert.equal((await edge.next((j) => j.event === "login")).ok, false);
  assert.equal((await edge.next((j) => j.event === "login")).ok, true);
  assert.equal((await edge.finish()).code, 0);
});
