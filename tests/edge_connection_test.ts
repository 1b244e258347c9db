import assert from "node:assert/strict";
import { ConnectionClosedError, EdgeConnection } from "../client/connection.ts";
import {
  BadCredentialsError,
  BlockedError,
  NotFoundError,
  RequestError,
} from "../protocol/errors.ts";
import { ok, ScriptedServer } from "./_helpers/scripted_server.ts";

function open(server: ScriptedServer): Promise<EdgeConnection> {
  return EdgeConnection.open(server.stream, { localHostname: "127.0.0.1", server: "test" });
}

Deno.test("a failed response rejects with the class of its code, message kept", async () => {
  const server = new ScriptedServer((request) => [
    request.op === "login"
      ? {
        t: "res",
        id: request.id,
        ok: false,
        error: "bad_credentials",
        message: "Invalid name or password.",
      }
      : { t: "res", id: request.id, ok: false, error: "blocked", message: "b has blocked you" },
  ]);
  const connection = await open(server);
  try {
    await assert.rejects(
      connection.request("login", { name: "watch1", password: "x" }),
      (e) => e instanceof BadCredentialsError && e.message === "Invalid name or password.",
    );
    await assert.rejects(
      connection.request("message", { to: "b", text: "hi" }),
      (e) =>
        e instanceof BlockedError && e instanceof RequestError && !(e instanceof NotFoundError) &&
        e.code === "blocked",
    );
  } finally {
    connection.close();
  }
});

Deno.test("a result is typed by its op: literal fields arrive as sent", async () => {
  const server = new ScriptedServer((request) => [ok(request, { delivery: "stored" })]);
  const connection = await open(server);
  try {
    const { delivery } = await connection.request("message", { to: "b", text: "hi" });
    const stored: "online" | "stored" = delivery;
    assert.equal(stored, "stored");
  } finally {
    connection.close();
  }
});

Deno.test("a result outside its literals breaks the protocol: the connection closes, saying why", async () => {
  const server = new ScriptedServer((request) => [ok(request, { delivery: "lost" })]);
  const connection = await open(server);
  await assert.rejects(
    connection.request("message", { to: "b", text: "hi" }),
    ConnectionClosedError,
  );
  assert.match(
    await connection.closed,
    /^the server broke the protocol \(result of message: delivery is not one of online, stored\)$/,
  );
});

Deno.test("a server that refuses the connection is named, with the refusal as the cause", async () => {
  const server = new ScriptedServer(() => []);
  server.push({ t: "push", event: "logout", reason: "busy", message: "the server is busy" });
  server.end();
  await assert.rejects(
    open(server),
    (e) =>
      e instanceof Error && e.message === "the server at test refused the connection: " +
          "the server is busy" &&
      e.cause instanceof ConnectionClosedError,
  );
});
