import assert from "node:assert/strict";
import { join } from "node:path";
import { EdgeProcess, type JsonLine } from "./_helpers/edge_process.ts";
import { ServerProcess } from "./_helpers/server_process.ts";

const isEvent = (event: string, extra: (j: JsonLine) => boolean = () => true) => (j: JsonLine) =>
  j.event === event && extra(j);

Deno.test("offline messages are delivered in order at next login, also across a server restart, once", async () => {
  const first = await ServerProcess.start();
  const dataDir = first.dataDir;
  {
    await using a = await EdgeProcess.start(first, { login: "watch1" });
    for (const text of ["one", "two", "three"]) {
      assert.equal((await a.command(`message watch3 ${text}`)).delivery, "stored");
    }
    await a.finish();
  }
  await first.stop("SIGTERM");
  await using server = await ServerProcess.start({ dataDir });
  {
    await using c = await EdgeProcess.start(server, { login: "watch3" });
    for (const text of ["one", "two", "three"]) {
      const m = await c.next(isEvent("message"));
      assert.deepEqual([m.from, m.text, m.kind], ["watch1", text, "offline"]);
    }
    assert.equal((await c.command("whoelse")).ok, true); // the acks went before this
    // The login history survived the restart: watch1 was online before it.
    assert.deepEqual((await c.command("whoelsesince 600")).devices, ["watch1"]);
    await c.finish();
  }
  await using again = await EdgeProcess.start(server, { login: "watch3" });
  await again.command("whoelse");
  assert.equal(again.json.filter((j) => j.event === "message").length, 0);
});

Deno.test("blocking hides a device and refuses its messages, chats and files; it survives a restart", async () => {
  const first = await ServerProcess.start();
  {
    await using b = await EdgeProcess.start(first, { login: "watch2" });
    assert.equal((await b.command("block watch1")).ok, true);
    const errors: [string, string, RegExp][] = [
      ["block watch1", "bad_args", /already blocked/],
      ["block watch2", "self", /itself/],
      ["block ghost", "not_found", /no device called ghost/],
      ["unblock watch3", "bad_args", /watch3 is not blocked/],
      ["unblock", "bad_args", /needs a device name/],
    ];
    for (const [line, error, message] of errors) {
      const r = await b.command(line);
      assert.deepEqual([r.ok, r.error], [false, error], line);
      assert.match(String(r.message), message, line);
    }
    await b.finish();
  }
  await first.stop("SIGTERM");
  await using server = await ServerProcess.start({ dataDir: first.dataDir });
  await using a = await EdgeProcess.start(server, { login: "watch1" });
  await using b = await EdgeProcess.start(server, { login: "watch2" });
  await using c = await EdgeProcess.start(server, { login: "watch3" });
  await Deno.writeTextFile(join(a.dir, "f.txt"), "data");

  const message = await a.command("message watch2 hi");
  assert.deepEqual([message.ok, message.error], [false, "blocked"]);
  assert.match(String(message.message), /watch2 has blocked you; your message was not delivered/);
  const all = await a.command("broadcast hello");
  assert.deepEqual([all.delivered, all.refused], [1, 1]);
  assert.match(String(all.message), /1 could not receive it/);
  assert.deepEqual((await a.command("whoelse")).devices, ["watch3"]);
  assert.deepEqual((await a.command("whoelsesince 600")).devices, ["watch3"]);
  assert.deepEqual(((await a.command("AED")).devices as { name: string }[]).map((d) => d.name), [
    "watch3",
  ]);
  assert.equal((await a.command("startprivate watch2")).error, "blocked");
  assert.equal((await a.command("UVF watch2 f.txt")).error, "blocked");
  // watch3 got the broadcast, watch2 got nothing from watch1.
  assert.equal((await c.next(isEvent("message"))).text, "hello");
  assert.equal((await b.command("whoelse")).ok, true);
  assert.equal(b.json.filter((j) => j.event === "message").length, 0);

  // watch1 gets no presence notices about watch2.
  await b.command("OUT");
  const seen = await c.next(isEvent("presence", (j) => j.device === "watch2"));
  assert.equal(seen.state, "offline");
  await a.command("whoelse");
  assert.equal(a.json.filter((j) => j.event === "presence" && j.device === "watch2").length, 0);

  // Unblocking restores delivery.
  await using b2 = await EdgeProcess.start(server, { login: "watch2" });
  assert.equal((await b2.command("unblock watch1")).ok, true);
  assert.equal((await a.command("message watch2 again")).delivery, "online");
  assert.equal((await b2.next(isEvent("message"))).text, "again");
});

Deno.test("several private-chat requests: a named answer, a bare one for the oldest; a block cancels a request both ways", async () => {
  await using server = await ServerProcess.start();
  await using b = await EdgeProcess.start(server, { login: "watch2" });
  await using a = await EdgeProcess.start(server, { login: "watch1" });
  await using c = await EdgeProcess.start(server, { login: "watch3" });
  await using d = await EdgeProcess.start(server, { login: "dev0" });
  const privateEvent = (device: string) => (j: JsonLine) =>
    j.event === "private" && j.device === device;

  assert.equal((await a.command("startprivate watch2")).ok, true);
  assert.match(String((await b.next(privateEvent("watch1"))).message), /answer y or n$/);
  assert.equal((await c.command("startprivate watch2")).ok, true);
  assert.equal((await d.command("startprivate watch2")).ok, true);
  const second = await b.next(privateEvent("watch3"));
  assert.equal(
    second.message,
    "watch3 wants a private chat with you; answer y watch3 or n watch3 " +
      "(a bare y or n answers the oldest request, from watch1)",
  );
  await b.next(privateEvent("dev0"));

  // A named answer takes that request, whatever its place.
  const named = await b.command("y watch3");
  assert.deepEqual([named.cmd, named.ok, named.device, named.accept], [
    "ANSWER",
    true,
    "watch3",
    true,
  ]);
  assert.equal((await c.next(privateEvent("watch2"))).state, "accepted");
  const unknown = await b.command("n watch9");
  assert.deepEqual([unknown.cmd, unknown.ok, unknown.error], ["ANSWER", false, "not_found"]);
  assert.match(String(unknown.message), /answer one of: watch1, dev0/);

  // The target blocks a requester: the request is gone on both sides.
  const blocked = await b.command("block watch1");
  assert.match(
    String(blocked.message),
    /watch1 is blocked; its private chat request was cancelled/,
  );
  const declined = await a.next(privateEvent("watch2"));
  assert.deepEqual([declined.state, declined.reason], ["declined", "blocked"]);

  // A requester blocks the target: the target is told and its request goes.
  assert.equal((await d.command("block watch2")).ok, true);
  const withdrawn = await b.next(privateEvent("dev0"));
  assert.deepEqual([withdrawn.state, withdrawn.reason], ["ended", "blocked"]);
  assert.equal(withdrawn.message, "dev0 withdrew its private chat request");

  // Nothing is pending any more: a bare y is not an answer to anyone.
  const bare = await b.command("y");
  assert.deepEqual([bare.cmd, bare.ok, bare.error], ["Y", false, "unknown_command"]);
  assert.equal(a.json.filter((j) => j.event === "private" && j.state === "accepted").length, 0);
});

Deno.test("with --allow-registration an unknown name creates its account, hashed, and can log in again", async () => {
  await using server = await ServerProcess.start({ args: ["--allow-registration"] });
  {
    await using fresh = await EdgeProcess.start(server);
    await fresh.send("newbie", "s3cret");
    const login = await fresh.next(isEvent("login"));
    assert.deepEqual([login.ok, login.registered], [true, true]);
    await fresh.finish();
  }
  const line = (await server.read("credentials.txt")).split("\n").find((l) =>
    l.startsWith("newbie ")
  );
  assert.match(line ?? "", /^newbie scrypt\$/);
  assert.ok(!server.stdout.lines.some((l) => l.includes("s3cret")));
  await using again = await EdgeProcess.start(server);
  await again.send("newbie", "wrong", "s3cret");
  assert.equal((await again.next(isEvent("login"))).error, "bad_credentials");
  const ok = await again.next(isEvent("login"));
  assert.deepEqual([ok.ok, ok.registered], [true, false]);
  // A password with a space cannot be stored, and nothing is registered.
  await using spaced = await EdgeProcess.start(server);
  await spaced.send("spacey", "two words");
  const refused = await spaced.next(isEvent("login"));
  assert.equal(refused.ok, false);
  assert.match(String(refused.message), /may not contain spaces/);
});

Deno.test("without --allow-registration an unknown name is just a failed login", async () => {
  await using server = await ServerProcess.start();
  await using edge = await EdgeProcess.start(server);
  await edge.send("newbie", "s3cret");
  assert.equal((await edge.next(isEvent("login"))).error, "bad_credentials");
  assert.ok(!(await server.read("credentials.txt")).includes("newbie"));
});
