/**
 * `--proxy-protocol` (SPEC §9) in process: connections that start with a PROXY v2 header
 * are known by the header's source address everywhere the server records an address
 * (AED, the server log, `edge-device-log.txt`, the operator's device list, the caps per
 * address, registrations per address); connections without a valid header within the
 * login deadline are refused, logged and counted by reason; TLS starts after the header.
 * Every socket here is 127.0.0.1: the addresses the server reports can only have come
 * from the headers. The end-to-end test with a real haproxy is `proxy_haproxy_test.ts`.
 */

import assert from "node:assert/strict";
import { EdgeConnection } from "../client/connection.ts";
import { encodeProxyHeader, type ProxyHeader } from "../protocol/proxy_header.ts";
import type { Push } from "../protocol/messages.ts";
import { createCa, issueServerCert, type PemPair } from "../tls/certificates.ts";
import { Arrivals, TestServer } from "./_helpers/in_process_server.ts";
import { startServer } from "../server/mod.ts";
import { ACCOUNTS } from "./_helpers/server_process.ts";
import { HELLO } from "./_helpers/raw_client.ts";
import { encodeMessage } from "../protocol/codec.ts";
import type { Message } from "../protocol/messages.ts";
import { memorySource } from "./_helpers/files.ts";
import { skipWithout } from "./_helpers/required_tool.ts";

/** The hello a device sends first. */
const HELLO_FRAME = encodeMessage({ t: "req", id: 1, ...HELLO } as Message);

/** A header from a balancer for a client at `address` (IPv4 or IPv6). */
function from(address: string, port = 40_000): ProxyHeader {
  const kind = address.includes(":") ? "tcp6" : "tcp4";
  const destination = { address: kind === "tcp4" ? "10.0.0.2" : "2001:db8::2", port: 7000 };
  return { kind, source: { address, port }, destination };
}

/** A connection to the server that has sent `prefix` and nothing else yet. */
async function rawConnection(server: TestServer, prefix: Uint8Array): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await conn.write(prefix);
  return conn;
}

/** An edge connected through a "balancer" that said `header`, hello done. */
async function edgeThrough(
  server: TestServer,
  header: ProxyHeader,
  options: { tlsCa?: string } = {},
): Promise<{ connection: EdgeConnection; pushes: Arrivals<Push> } & Disposable> {
  const conn = await rawConnection(server, encodeProxyHeader(header));
  const stream = options.tlsCa === undefined ? conn : await Deno.startTls(conn, {
    hostname: "localhost",
    caCerts: [options.tlsCa],
    alpnProtocols: ["iotnet/1"],
  });
  const pushes = new Arrivals<Push>();
  const connection = await EdgeConnection.open(stream, {
    localHostname: "127.0.0.1",
    server: `127.0.0.1:${server.port}`,
    onPush: (push) => pushes.add(push),
  });
  return { connection, pushes, [Symbol.dispose]: () => connection.close() };
}

/** A server with `--proxy-protocol` and TLS, its certificate from a CA of its own. */
async function tlsServerBehindBalancer(): Promise<{ server: TestServer; ca: PemPair }> {
  const ca = await createCa("iotnet test CA");
  const identity = await issueServerCert(ca, { hosts: ["localhost", "127.0.0.1"] });
  const server = await TestServer.start({
    proxyProtocol: true,
    tls: { cert: identity.cert, key: identity.key },
  });
  return { server, ca };
}

async function logIn(connection: EdgeConnection, name: string, udpPort = 9): Promise<void> {
  await connection.request("login", { name, password: ACCOUNTS[name]! });
  await connection.request("udp_port", { port: udpPort });
}

/** Reads until the server closes; what it sent, as bytes. */
async function readToEnd(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: number[] = [];
  const buffer = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buffer).catch(() => null);
    if (n === null) return Uint8Array.from(chunks);
    chunks.push(...buffer.subarray(0, n));
  }
}

/** The operator's view of the server: `/metrics` and `/api/devices`, with the token. */
async function operator(server: TestServer, path: string): Promise<string> {
  const http = server.server.http!;
  const token = (await server.read("operator-token")).trim();
  const response = await fetch(`http://${http.hostname}:${http.port}${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(response.status, 200, path);
  return await response.text();
}

Deno.test("--proxy-protocol: devices are known by the header's address in AED, the logs and the operator's list", async () => {
  await using server = await TestServer.start({ proxyProtocol: true, http: { port: 0 } });
  using watch1 = await edgeThrough(server, from("203.0.113.7", 51_000));
  await logIn(watch1.connection, "watch1", 6001);
  using watch2 = await edgeThrough(server, from("2001:db8::17"));
  await logIn(watch2.connection, "watch2", 6002);
  await server.waitForLog(/^watch1 joined from 203\.0\.113\.7, UDP port 6001$/);
  await server.waitForLog(/^watch2 joined from 2001:db8::17, UDP port 6002$/);

  const { devices } = await watch2.connection.request("devices", {});
  assert.deepEqual(
    JSON.parse(JSON.stringify(devices)).map((d: { name: string; ip: string }) => [d.name, d.ip]),
    [["watch1", "203.0.113.7"]],
  );
  assert.deepEqual((await watch1.connection.request("whoelse", {})).devices, ["watch2"]);

  // edge-device-log.txt trails the registry by one write: wait for both lines.
  let activeLog = "";
  for (let i = 0; i < 100 && !activeLog.includes("watch2"); i++) {
    activeLog = await server.read("edge-device-log.txt");
    if (!activeLog.includes("watch2")) await new Promise((r) => setTimeout(r, 20));
  }
  assert.match(activeLog, /^1; .*; watch1; 203\.0\.113\.7; 6001$/m);
  assert.match(activeLog, /^2; .*; watch2; 2001:db8::17; 6002$/m);

  const listed = JSON.parse(await operator(server, "/api/devices")).devices;
  assert.deepEqual(
    listed.map((d: { name: string; ip: string }) => [d.name, d.ip]).sort(),
    [["watch1", "203.0.113.7"], ["watch2", "2001:db8::17"]],
  );
  // The balancer's address (every socket's here) is in no line about a device.
  const aboutDevices = server.log.items.filter((l) => l.startsWith("watch"));
  assert.equal(aboutDevices.length, 4, server.log.items.join("\n"));
  assert.ok(!aboutDevices.some((l) => l.includes("127.0.0.1")), aboutDevices.join("\n"));
});

Deno.test("--proxy-protocol: the cap per address counts the header's address, not the balancer's", async () => {
  await using server = await TestServer.start({
    proxyProtocol: true,
    maxPendingLoginsPerAddress: 1,
    http: { port: 0 },
  });
  using first = await edgeThrough(server, from("198.51.100.1"));
  // A second stranger from the same device address is refused, with the server's reason.
  const second = await rawConnection(server, encodeProxyHeader(from("198.51.100.1", 40_001)));
  const said = new TextDecoder().decode(await readToEnd(second));
  second.close();
  assert.match(said, /1 connections from 198\.51\.100\.1 are already waiting to log in/);
  await server.waitForLog(
    /^refused a connection from 198\.51\.100\.1: 1 connections from 198\.51\.100\.1 are already waiting to log in \(through 127\.0\.0\.1\)$/,
  );
  // Another device address through the same balancer still gets in.
  using other = await edgeThrough(server, from("198.51.100.2"));
  await logIn(other.connection, "watch2");
  await logIn(first.connection, "watch1");
  assert.match(
    await operator(server, "/metrics"),
    /^iotnet_connections_refused_total\{reason="max_pending_per_address"\} 1$/m,
  );
});

Deno.test("--proxy-protocol: accounts registered per minute are counted per header address", async () => {
  await using server = await TestServer.start({
    proxyProtocol: true,
    allowRegistration: true,
    registrationsPerMinute: 1,
  });
  using a = await edgeThrough(server, from("192.0.2.10"));
  assert.equal(
    (await a.connection.request("login", { name: "new1", password: "pw" })).registered,
    true,
  );
  using b = await edgeThrough(server, from("192.0.2.10"));
  await assert.rejects(
    b.connection.request("login", { name: "new2", password: "pw" }),
    /too many new accounts from 192\.0\.2\.10 \(at most 1 a minute\)/,
  );
  using c = await edgeThrough(server, from("192.0.2.11"));
  assert.equal(
    (await c.connection.request("login", { name: "new3", password: "pw" })).registered,
    true,
  );
  await server.waitForLog(/^new3 registered a new account from 192\.0\.2\.11$/);
});

Deno.test("--proxy-protocol: a connection without a valid header is refused, logged and counted by reason", async () => {
  await using server = await TestServer.start({ proxyProtocol: true, http: { port: 0 } });
  const refusedWith = async (bytes: Uint8Array, log: RegExp, options = { hangUp: false }) => {
    const conn = await rawConnection(server, bytes);
    if (options.hangUp) await conn.closeWrite();
    assert.deepEqual(await readToEnd(conn), new Uint8Array(), "the server says nothing");
    conn.close();
    return await server.waitForLog(log);
  };
  // A device that reached the port directly: its hello frame where the header should be.
  await refusedWith(
    HELLO_FRAME,
    /^refused a connection from 127\.0\.0\.1: no PROXY protocol v2 header: the connection began with 00 00 00 .* \(an iotnet frame: the device reached this port without the balancer\)$/,
  );
  // The balancer set to send-proxy (version 1).
  await refusedWith(
    new TextEncoder().encode("PROXY TCP4 192.0.2.1 10.0.0.2 51000 7000\r\n"),
    /^refused a connection from 127\.0\.0\.1: a PROXY protocol version 1 \(text\) header; this server takes only version 2: use send-proxy-v2 on the balancer, not send-proxy$/,
  );
  // A header with an undefined command.
  const bad = encodeProxyHeader(from("192.0.2.1"));
  bad[12] = 0x22;
  await refusedWith(bad, /^refused a connection from 127\.0\.0\.1: command 2 is neither LOCAL/);
  // Cut short by the peer.
  await refusedWith(
    encodeProxyHeader(from("192.0.2.1")).subarray(0, 20),
    /^refused a connection from 127\.0\.0\.1: closed the connection after 20 bytes, before a whole PROXY protocol header$/,
    { hangUp: true },
  );
  const metrics = await operator(server, "/metrics");
  assert.match(metrics, /^iotnet_connections_refused_total\{reason="proxy_header_missing"\} 1$/m);
  assert.match(metrics, /^iotnet_connections_refused_total\{reason="proxy_header_invalid"\} 3$/m);
  // The security page lists every reason this server refuses for.
  const security = JSON.parse(await operator(server, "/api/security"));
  assert.equal(security.refusals.proxy_header_invalid, 3);
  assert.equal(security.refusals.proxy_header_timeout, 0);
  // Nothing of a stack trace in the log.
  assert.ok(!server.log.items.some((l) => /\n\s+at /.test(l)), server.log.items.join("\n"));
});

Deno.test("--proxy-protocol: a header not whole within the login deadline is refused as a timeout", async () => {
  await using server = await TestServer.start({
    proxyProtocol: true,
    loginDeadlineMs: 5_000,
    http: { port: 0 },
  });
  const timers = server.clock.pending;
  // Nothing at all: what the server has read when the deadline passes is then known.
  const conn = await rawConnection(server, new Uint8Array(0));
  await server.waitForTimers(timers + 1);
  server.advance(4_999);
  server.advance(1);
  assert.deepEqual(await readToEnd(conn), new Uint8Array());
  conn.close();
  await server.waitForLog(
    /^refused a connection from 127\.0\.0\.1: no whole PROXY protocol header within 5 s \(0 bytes came\)$/,
  );
  assert.match(
    await operator(server, "/metrics"),
    /^iotnet_connections_refused_total\{reason="proxy_header_timeout"\} 1$/m,
  );
});

Deno.test("--proxy-protocol: the balancer's health check (LOCAL) ends quietly; LOCAL then a device uses the socket's address", async () => {
  await using server = await TestServer.start({ proxyProtocol: true });
  const check = await rawConnection(server, encodeProxyHeader({ kind: "local" }));
  check.close();
  // A LOCAL connection that goes on is served, known by its socket's address.
  using local = await edgeThrough(server, { kind: "local" });
  await logIn(local.connection, "watch1");
  using device = await edgeThrough(server, from("203.0.113.9"));
  await logIn(device.connection, "watch2");
  await server.waitForLog(/^watch1 joined from 127\.0\.0\.1, UDP port 9$/);
  const { devices } = await device.connection.request("devices", {});
  assert.equal(JSON.parse(JSON.stringify(devices))[0].ip, "127.0.0.1");
  // The health check left no line: only the two devices' logins are there.
  const connectionLines = server.log.items.filter((l) => /connection from|refused/.test(l));
  assert.deepEqual(connectionLines, [], server.log.items.join("\n"));
});

Deno.test("--proxy-protocol with TLS: the header comes in clear, then the TLS handshake", async () => {
  const { server, ca } = await tlsServerBehindBalancer();
  await using _ = server;
  using watch1 = await edgeThrough(server, from("203.0.113.70"), { tlsCa: ca.cert });
  await logIn(watch1.connection, "watch1");
  using watch2 = await edgeThrough(server, from("203.0.113.71"), { tlsCa: ca.cert });
  await logIn(watch2.connection, "watch2");
  const { devices } = await watch2.connection.request("devices", {});
  assert.equal(JSON.parse(JSON.stringify(devices))[0].ip, "203.0.113.70");
  // An upload crosses the TLS stream whole (the server reads it in its big buffers).
  const samples = Array.from({ length: 20_000 }, (_, i) => `${i - 10_000}\n`).join("");
  const bytes = new TextEncoder().encode(samples);
  await watch1.connection.upload(1, memorySource(bytes), bytes.length);
  const sum = await watch1.connection.request("compute", { fileID: 1, operation: "SUM" });
  assert.equal(sum.result, "-10000");

  // A TLS client that skips the balancer is refused at its first byte.
  const direct = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  await assert.rejects(async () => {
    const tls = await Deno.startTls(direct, { hostname: "localhost", caCerts: [ca.cert] });
    try {
      await tls.handshake();
    } finally {
      tls.close();
    }
  });
  await server.waitForLog(
    /^refused a connection from 127\.0\.0\.1: .*\(a TLS handshake: the client reached this port without the balancer\)$/,
  );
  // A plain device behind the header is told apart in the log.
  const plain = await rawConnection(
    server,
    Uint8Array.of(...encodeProxyHeader(from("203.0.113.72")), ...HELLO_FRAME),
  );
  await readToEnd(plain);
  plain.close();
  await server.waitForLog(
    /^TLS handshake with 203\.0\.113\.72 failed: the client does not speak TLS/,
  );
});

Deno.test("--proxy-protocol: closing the server ends connections still waiting for their header", async () => {
  const server = await TestServer.start({ proxyProtocol: true });
  const waiting = await rawConnection(server, new Uint8Array(0));
  await server.waitForTimers(1);
  const ended = readToEnd(waiting);
  await server[Symbol.asyncDispose]();
  assert.deepEqual(await ended, new Uint8Array());
  waiting.close();
});

/** The first bytes a TLS client sends: its ClientHello, caught on a socket of our own. */
async function clientHello(): Promise<Uint8Array> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
  const accepted = await listener.accept();
  const tls = await Deno.startTls(client, { hostname: "localhost" });
  const handshake = tls.handshake().catch(() => {});
  const buffer = new Uint8Array(4096);
  const n = await accepted.read(buffer);
  accepted.close();
  await handshake;
  tls.close();
  return buffer.slice(0, n!);
}

Deno.test("--proxy-protocol with TLS: hostile bytes after the header never bring the server down", async () => {
  const { server, ca } = await tlsServerBehindBalancer();
  await using _ = server;
  const hello = await clientHello();
  const header = encodeProxyHeader(from("203.0.113.80"));
  const random = crypto.getRandomValues(new Uint8Array(64 * 1024));
  // Each: what follows the header in the first write, then whether to hang up at once.
  const cases: [string, Uint8Array, boolean][] = [
    ["nothing, hang up", new Uint8Array(), true],
    ["random bytes", random.subarray(0, 300), false],
    ["a TLS record header only", hello.subarray(0, 5), true],
    ["half a ClientHello, hang up", hello.subarray(0, hello.length >> 1), true],
    ["a ClientHello, hang up", hello, true],
    [
      "a ClientHello then random bytes",
      Uint8Array.of(...hello, ...random.subarray(0, 2000)),
      false,
    ],
    ["64 KiB of random bytes", random, false],
  ];
  for (const [what, bytes, hangUp] of cases) {
    for (let round = 0; round < 5; round++) {
      const conn = await rawConnection(server, Uint8Array.of(...header, ...bytes));
      if (hangUp) conn.close();
      else {
        await readToEnd(conn);
        conn.close();
      }
    }
    // The server still serves a device through the balancer after each kind.
    using device = await edgeThrough(server, from("203.0.113.81"), { tlsCa: ca.cert });
    await logIn(device.connection, "watch1");
    const logged = server.log.items.length;
    device.connection.close();
    await server.log.indexOf((l) => l.startsWith("watch1 left"), {
      what: `watch1 leaving after ${what}`,
      from: logged,
    });
  }
  const failures = server.log.items.filter((l) => l.startsWith("TLS handshake with 203.0.113.80"));
  assert.ok(failures.length >= 10, failures.join("\n"));
  assert.ok(!server.log.items.some((l) => /\n\s+at /.test(l)), "a stack trace in the log");
});

/**
 * A one-connection balancer: accepts on a port of its own, connects to `serverPort`, sends
 * `header`, then copies both ways until either side ends.
 */
function relayWithHeader(serverPort: number, header: Uint8Array): { port: number } & Disposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const copy = (from: Deno.Conn, to: Deno.Conn) =>
    from.readable.pipeTo(to.writable).catch(() => {}).finally(() => {
      try {
        from.close();
      } catch { /* closed */ }
    });
  void (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port: serverPort });
      await server.write(header);
      void copy(client, server);
      void copy(server, client);
    }
  })().catch(() => {});
  return { port: listener.addr.port, [Symbol.dispose]: () => listener.close() };
}

Deno.test({
  name: "--proxy-protocol with TLS: a client offering only TLS 1.2 is refused, 1.3 accepted",
  ignore: skipWithout("openssl"),
  async fn() {
    const { server } = await tlsServerBehindBalancer();
    await using _ = server;
    using relay = relayWithHeader(server.port, encodeProxyHeader(from("203.0.113.90")));
    const sClient = async (version: string) => {
      const { stdout, stderr } = await new Deno.Command("openssl", {
        args: ["s_client", "-connect", `127.0.0.1:${relay.port}`, version, "-alpn", "iotnet/1"],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      return new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    };
    const accepted = await sClient("-tls1_3");
    assert.match(accepted, /^New, TLSv1\.3, /m);
    assert.match(accepted, /^ALPN protocol: iotnet\/1$/m);
    assert.match(await sClient("-tls1_2"), /^New, \(NONE\), Cipher is \(NONE\)$/m);
    await server.waitForLog(
      /^TLS handshake with 203\.0\.113\.90 failed: the client does not offer TLS 1\.3 \(.*\); this port takes TLS 1\.3 only$/,
    );
  },
});

Deno.test("--proxy-protocol with TLS: a certificate or key that cannot be used stops the start with one clear line", async () => {
  const ca = await createCa("iotnet test CA");
  const identity = await issueServerCert(ca, { hosts: ["127.0.0.1"] });
  const cases: [{ cert: string; key: string }, RegExp][] = [
    [
      { cert: "not a certificate", key: identity.key },
      /the certificate is not a PEM certificate/,
    ],
    [{ cert: identity.cert, key: "not a key" }, /the key is not a PEM private key/],
    [{ cert: identity.cert, key: ca.key }, /the key is not the certificate's: they do not match/],
  ];
  for (const [tls, reason] of cases) {
    const dataDir = await Deno.makeTempDir({ prefix: "iotnet-proxy-tls-" });
    await Deno.writeTextFile(`${dataDir}/credentials.txt`, "watch1 pw1\n");
    await assert.rejects(
      startServer({ attempts: 3, dataDir, log: () => {}, proxyProtocol: true, tls }),
      (error: Error) => {
        assert.equal(error.name, "StartupError");
        assert.match(error.message, /^cannot use the TLS certificate and key: /);
        assert.match(error.message, reason);
        assert.match(
          error.message,
          /; give --tls-cert and --tls-key the server\.crt and server\.key/,
        );
        assert.ok(!error.message.includes("\n"), error.message);
        return true;
      },
    );
    await Deno.remove(dataDir, { recursive: true });
  }
});
