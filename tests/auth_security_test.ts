import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeMessage, encodeMessage } from "../protocol/codec.ts";
import { FrameDecoder } from "../protocol/frame.ts";
import { PROTOCOL_NAME, PROTOCOL_VERSION } from "../protocol/limits.ts";
import type { Message } from "../protocol/messages.ts";
import { HASH_PROFILES, hashPassword } from "../server/password_hash.ts";
import { ServerProcess } from "./_helpers/server_process.ts";

const SECRET = "correct-horse";
const HASH = await hashPassword(SECRET, HASH_PROFILES.fast);

/** A data directory whose credentials hold one hashed and one plain account, plus `extra`. */
async function dataDir(extra = ""): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "iotnet-auth-" });
  await Deno.writeTextFile(
    join(dir, "credentials.txt"),
    `watch1 ${HASH}\nwatch2 plain-pw2\n${extra}`,
  );
  return dir;
}

/**
 * Says hello and tries one login on a fresh connection; returns the exact bytes of the
 * login reply's frame body and the decoded reply.
 */
async function loginReply(
  port: number,
  name: string,
  password: string,
): Promise<{ bytes: Uint8Array; message: Message }> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const hello = encodeMessage({
    t: "req",
    id: 1,
    op: "hello",
    protocol: PROTOCOL_NAME,
    version: PROTOCOL_VERSION,
  });
  const login = encodeMessage({ t: "req", id: 2, op: "login", name, password });
  await conn.write(new Uint8Array([...hello, ...login]));
  const decoder = new FrameDecoder();
  const buffer = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error("server closed the connection");
    for (const frame of decoder.frames(buffer.subarray(0, n))) {
      if (frame.kind !== "message") continue;
      const message = decodeMessage(frame.body);
      if (message.t === "res" && message.id === 2) return { bytes: frame.body.slice(), message };
    }
  }
}

const codeOf = (m: Message) => m.t === "res" && !m.ok ? m.error : m.t === "res" ? "ok" : m.t;

Deno.test("an unknown name and a wrong password get byte-identical replies", async () => {
  await using server = await ServerProcess.start({ dataDir: await dataDir(), attempts: 5 });
  const wrongHashed = await loginReply(server.port, "watch1", "guess");
  const wrongPlain = await loginReply(server.port, "watch2", "guess");
  const unknown = await loginReply(server.port, "nobody", "guess");
  const invalid = await loginReply(server.port, "../../etc/passwd", "guess");
  assert.equal(codeOf(unknown.message), "bad_credentials");
  assert.deepEqual(unknown.bytes, wrongHashed.bytes);
  assert.deepEqual(unknown.bytes, wrongPlain.bytes);
  assert.deepEqual(invalid.bytes, wrongHashed.bytes);
  assert.equal(codeOf((await loginReply(server.port, "watch1", SECRET)).message), "ok");
  await Deno.remove(server.dataDir, { recursive: true });
});

Deno.test("parallel guesses from many connections are cut off at <attempts>", async () => {
  await using server = await ServerProcess.start({ dataDir: await dataDir(), attempts: 3 });
  const replies = await Promise.all(
    Array.from({ length: 12 }, (_, i) => loginReply(server.port, "watch1", `guess${i}`)),
  );
  const codes = replies.map((r) => codeOf(r.message));
  assert.equal(codes.filter((c) => c === "bad_credentials").length, 2, codes.join());
  assert.equal(codes.filter((c) => c === "blocked").length, 10, codes.join());
  // The right password is refused while the block runs.
  assert.equal(codeOf((await loginReply(server.port, "watch1", SECRET)).message), "blocked");
  await Deno.remove(server.dataDir, { recursive: true });
});

Deno.test("no password or hash reaches the server's output, even from bad credentials lines", async () => {
  const badLines = [
    `watch3 ${SECRET} extra`,
    `watch4 ${SECRET}\r`,
    `watch1 ${SECRET}-duplicate`,
    `watch5 scrypt$N=16384,r=8,p=1$${SECRET}`,
    `bad/name ${SECRET}`,
  ].join("\n") + "\n";
  await using server = await ServerProcess.start({ dataDir: await dataDir(badLines) });
  await loginReply(server.port, "watch1", `${SECRET}-typo`);
  await loginReply(server.port, "ghost", `${SECRET}-ghost`);
  await loginReply(server.port, "watch1", SECRET);
  await server.stop("SIGTERM");
  const output = [...server.stdout.lines, ...server.stderr.lines].join("\n");
  for (const line of [3, 4, 5, 6, 7]) {
    assert.match(output, new RegExp(`credentials\\.txt:${line}: .*; line ignored`));
  }
  assert.match(output, /failed login as ghost from 127\.0\.0\.1 \(bad_credentials\)/);
  assert.ok(!output.includes(SECRET), `a password reached the output:\n${output}`);
  for (const part of HASH.split("$").slice(2)) {
    assert.ok(!output.includes(part), "a hash reached the output");
  }
  await Deno.remove(server.dataDir, { recursive: true });
});
