/**
 * The device port under TLS (SPEC §7): login over TLS, what `openssl s_client` sees, and a
 * clear, timely message for each way edge and server can disagree. Each test makes its own
 * CA in a temp dir.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { pemCertificates } from "../cli/pem_file.ts";
import { ConnectionClosedError, EdgeConnection } from "../client/connection.ts";
import { dial } from "../client/dial.ts";
import { startServer, StartupError } from "../server/mod.ts";
import { createCa, issueServerCertificate, type PemPair } from "../tls/certificates.ts";
import { TestServer } from "./_helpers/in_process_server.ts";
import { InProcessEdge } from "./_helpers/in_process_edge.ts";

/** Edges must hear about a mismatch well within the connect timeout. */
const MISMATCH_BOUND_MS = 5_000;

interface Deployment {
  ca: PemPair;
  server: PemPair;
}

async function deployment(
  hosts = ["127.0.0.1", "localhost"],
  validity?: { notBefore: Date; notAfter: Date },
): Promise<Deployment> {
  const ca = await createCa();
  return { ca, server: await issueServerCertificate(ca, hosts, validity) };
}

async function failedLogin(edge: InProcessEdge): Promise<{ message: string; ms: number }> {
  const started = performance.now();
  const line = await edge.next((j) => j.event === "login", MISMATCH_BOUND_MS);
  assert.equal(line.ok, false);
  assert.equal(await edge.exited(), 1);
  return { message: String(line.message), ms: performance.now() - started };
}

Deno.test("an edge with --tls-ca logs in over TLS and works", async () => {
  const { ca, server: identity } = await deployment();
  await using server = await TestServer.start({ tls: identity });
  const edge = await server.login("watch1", undefined, { caCerts: [ca.cert] });
  const { devices } = await edge.connection.request("whoelse", {});
  assert.deepEqual(devices, []);
  await using inProcess = await InProcessEdge.start(server, {
    login: "watch2",
    tls: { caCerts: [ca.cert] },
  });
  assert.equal(await inProcess.finish(), 0);
});

Deno.test("the first reply after the TLS handshake does not wait for a delayed ACK", async () => {
  const { ca, server: identity } = await deployment();
  await using tlsServer = await TestServer.start({ tls: identity });
  await using plainServer = await TestServer.start();
  // Interleaved, so load from other test files slows both alike. Without TCP_NODELAY on
  // the TLS listener the hello waited ~40 ms (Nagle behind the unacknowledged tickets).
  const hello = async (server: TestServer, tls?: { caCerts: string[] }) => {
    const conn = await dial({ hostname: "127.0.0.1", port: server.port, ...(tls && { tls }) });
    const started = performance.now();
    const connection = await EdgeConnection.open(conn, { localHostname: "127.0.0.1", server: "" });
    const ms = performance.now() - started;
    connection.close();
    return ms;
  };
  const tlsMs: number[] = [];
  const plainMs: number[] = [];
  for (let i = 0; i < 9; i++) {
    tlsMs.push(await hello(tlsServer, { caCerts: [ca.cert] }));
    plainMs.push(await hello(plainServer));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[4]!;
  assert.ok(
    median(tlsMs) < median(plainMs) + 25,
    `hello over TLS ${median(tlsMs).toFixed(1)} ms, plain ${median(plainMs).toFixed(1)} ms`,
  );
});

Deno.test("openssl s_client sees TLSv1.3 and ALPN iotnet/1, and the chain verifies", async () => {
  const { ca, server: identity } = await deployment();
  await using server = await TestServer.start({ tls: identity });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "ca.crt"), ca.cert);
    const { stdout, stderr } = await new Deno.Command("openssl", {
      args: [
        "s_client",
        "-connect",
        `127.0.0.1:${server.port}`,
        "-alpn",
        "iotnet/1",
        "-CAfile",
        join(dir, "ca.crt"),
        "-verify_return_error",
        "-verify_ip",
        "127.0.0.1",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(10_000),
    }).output();
    const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.match(out, /New, TLSv1\.3, Cipher is/);
    assert.match(out, /ALPN protocol: iotnet\/1/);
    assert.match(out, /Verify return code: 0 \(ok\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a TLS client that does not ask for ALPN iotnet/1 is closed", async () => {
  const { ca, server: identity } = await deployment();
  await using server = await TestServer.start({ tls: identity });
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const conn = await Deno.startTls(tcp, { hostname: "127.0.0.1", caCerts: [ca.cert] });
  assert.equal((await conn.handshake()).alpnProtocol, null);
  await assert.rejects(
    EdgeConnection.open(conn, { localHostname: "127.0.0.1", server: "" }),
    ConnectionClosedError,
  );
  assert.match(
    await server.waitForLog(/closing a TLS connection/),
    /did not ask for ALPN iotnet\/1/,
  );
});

Deno.test("a plain edge against a TLS server is told to give --tls-ca", async () => {
  const { server: identity } = await deployment();
  await using server = await TestServer.start({ tls: identity });
  await using edge = await InProcessEdge.start(server);
  const { message, ms } = await failedLogin(edge);
  assert.match(message, /server expects TLS; give --tls-ca/);
  assert.ok(ms < MISMATCH_BOUND_MS, `${ms} ms`);
  assert.match(await server.waitForLog(/TLS handshake/), /does not speak TLS/);
});

Deno.test("a TLS edge against a plain server is told the server does not speak TLS", async () => {
  const { ca } = await deployment();
  await using server = await TestServer.start();
  await using edge = await InProcessEdge.start(server, { tls: { caCerts: [ca.cert] } });
  const { message, ms } = await failedLogin(edge);
  assert.match(message, /TLS with 127\.0\.0\.1:\d+ failed: the server does not speak TLS/);
  assert.ok(ms < MISMATCH_BOUND_MS, `${ms} ms`);
});

Deno.test("a server certificate from another CA is refused, naming --tls-ca", async () => {
  const { server: identity } = await deployment();
  const other = await createCa("another CA");
  await using server = await TestServer.start({ tls: identity });
  await using edge = await InProcessEdge.start(server, { tls: { caCerts: [other.cert] } });
  const { message } = await failedLogin(edge);
  assert.match(message, /not signed by the --tls-ca given/);
  assert.match(await server.waitForLog(/TLS handshake/), /refused this server's certificate/);
});

Deno.test("a server certificate for another host is refused, by IP and by name", async () => {
  const { ca, server: identity } = await deployment(["10.9.8.7", "iot.example"]);
  await using server = await TestServer.start({ tls: identity });
  for (const host of ["127.0.0.1", "localhost"]) {
    await using edge = await InProcessEdge.start(server, { host, tls: { caCerts: [ca.cert] } });
    const { message } = await failedLogin(edge);
    assert.match(message, /does not name the host dialled/, host);
  }
  // The same certificate is fine for a name it holds: only the name was wrong.
  const { ca: ca2, server: byName } = await deployment(["localhost"]);
  await using named = await TestServer.start({ tls: byName });
  await using edge = await InProcessEdge.start(named, {
    host: "localhost",
    tls: { caCerts: [ca2.cert] },
  });
  edge.send("watch1", "pw1");
  const login = await edge.next((j) => j.event === "login");
  assert.equal(login.ok, true, JSON.stringify(login));
});

Deno.test("an expired server certificate is refused, saying so", async () => {
  const day = 24 * 3600 * 1000;
  const { ca, server: identity } = await deployment(undefined, {
    notBefore: new Date(Date.now() - 30 * day),
    notAfter: new Date(Date.now() - day),
  });
  await using server = await TestServer.start({ tls: identity });
  await using edge = await InProcessEdge.start(server, { tls: { caCerts: [ca.cert] } });
  const { message } = await failedLogin(edge);
  assert.match(message, /certificate has expired/);
});

Deno.test("EdgeConnection.connect over TLS fails with one line for an unknown CA", async () => {
  const { server: identity } = await deployment();
  const other = await createCa("another CA");
  await using server = await TestServer.start({ tls: identity });
  await assert.rejects(
    EdgeConnection.connect({
      hostname: "127.0.0.1",
      port: server.port,
      tls: { caCerts: [other.cert] },
    }),
    (error: Error) => !error.message.includes("\n") && /--tls-ca/.test(error.message),
  );
});

Deno.test("a --tls-ca file holding the old and the new CA accepts a server of either", async () => {
  const old = await createCa("old CA");
  const { ca, server: identity } = await deployment();
  const both = pemCertificates(old.cert + ca.cert);
  assert.equal(both.length, 2);
  await using server = await TestServer.start({ tls: identity });
  await server.login("watch1", undefined, { caCerts: both });
  await using oldServer = await TestServer.start({
    tls: await issueServerCertificate(old, ["127.0.0.1"]),
  });
  await oldServer.login("watch2", undefined, { caCerts: both });
});

Deno.test("a TLS handshake nobody answers ends when the signal fires, saying so", async () => {
  const { ca } = await deployment();
  using silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of silent) held.push(conn);
  })().catch(() => {});
  try {
    const started = performance.now();
    await assert.rejects(
      dial({
        hostname: "127.0.0.1",
        port: silent.addr.port,
        tls: { caCerts: [ca.cert] },
        signal: AbortSignal.timeout(300),
      }),
      /the TLS handshake with 127\.0\.0\.1:\d+ did not finish in time; check that the server runs with --tls-cert/,
    );
    assert.ok(performance.now() - started < MISMATCH_BOUND_MS);
  } finally {
    for (const conn of held) conn.close();
    silent.close();
    await accepting;
  }
});

Deno.test("a TLS connection made in time outlives the handshake's deadline", async () => {
  const { ca, server: identity } = await deployment();
  await using server = await TestServer.start({ tls: identity });
  const signal = AbortSignal.timeout(200);
  const conn = await dial({
    hostname: "127.0.0.1",
    port: server.port,
    tls: { caCerts: [ca.cert] },
    signal,
  });
  const connection = await EdgeConnection.open(conn, { localHostname: "127.0.0.1", server: "" });
  try {
    if (!signal.aborted) {
      await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    }
    const reply = await connection.request("login", { name: "watch1", password: "pw1" });
    assert.equal(typeof reply.ticketKey, "string");
  } finally {
    connection.close();
  }
});

Deno.test("a server on a non-loopback host refuses to start without TLS", async () => {
  const dataDir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dataDir, "credentials.txt"), "watch1 pw1\n");
    await assert.rejects(
      startServer({ attempts: 3, hostname: "0.0.0.0", dataDir, log: () => {} }),
      (error: Error) =>
        error instanceof StartupError && /--tls-cert and --tls-key/.test(error.message) &&
        /--insecure/.test(error.message),
    );
    const lines: string[] = [];
    const server = await startServer({
      attempts: 3,
      hostname: "0.0.0.0",
      dataDir,
      insecure: true,
      log: (line) => lines.push(line),
    });
    await server.close();
    assert.ok(
      lines.some((l) => /^warning: --host 0\.0\.0\.0 .*--insecure/.test(l)),
      lines.join("\n"),
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
