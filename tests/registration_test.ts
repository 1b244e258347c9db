import assert from "node:assert/strict";
import { HELLO, RawClient } from "./_helpers/raw_client.ts";
import { ServerProcess } from "./_helpers/server_process.ts";

/** Logs in as `name` with `password` on a fresh connection; returns the login response. */
async function login(port: number, name: string, password: string) {
  using raw = await RawClient.connect(port);
  await raw.request(HELLO);
  return await raw.request({ op: "login", name, password });
}

Deno.test("with --allow-registration one address creates at most --registrations-per-minute accounts a minute; known names still log in", async () => {
  await using server = await ServerProcess.start({
    args: ["--allow-registration", "--registrations-per-minute", "3"],
  });
  for (const name of ["new1", "new2", "new3"]) {
    const res = await login(server.port, name, "secret");
    assert.ok(res.t === "res" && res.ok && res.registered === true, JSON.stringify(res));
  }
  const refused = await login(server.port, "new4", "secret");
  assert.ok(refused.t === "res" && !refused.ok, JSON.stringify(refused));
  assert.equal(refused.error, "busy");
  assert.match(
    refused.message,
    /^too many new accounts from 127\.0\.0\.1 \(at most 3 a minute\); try again in \d+ s$/,
  );
  assert.ok(!(await server.read("credentials.txt")).includes("new4"));
  const known = await login(server.port, "watch1", "pw1");
  assert.ok(known.t === "res" && known.ok && known.registered === false, JSON.stringify(known));
});

Deno.test("with --allow-registration and no rate given, the 11th new account from one address within a minute is refused", async () => {
  await using server = await ServerProcess.start({ args: ["--allow-registration"] });
  for (let i = 1; i <= 10; i++) {
    const res = await login(server.port, `auto${i}`, "secret");
    assert.ok(res.t === "res" && res.ok && res.registered === true, JSON.stringify(res));
  }
  const refused = await login(server.port, "auto11", "secret");
  assert.ok(
    refused.t === "res" && !refused.ok && refused.error === "busy",
    JSON.stringify(refused),
  );
});
