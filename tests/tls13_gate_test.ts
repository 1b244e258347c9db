/**
 * TLS 1.3 only, on real sockets (`server/tls13_gate.ts`): real ClientHellos from openssl
 * and rustls judged right; a ClientHello cut into many records and sent slowly still
 * passes; many edges and TLS 1.2 clients at once, each answered right, and no descriptor
 * left behind; IPv6; a client that floods before any answer gets no session; without FFI
 * the server says once that TLS 1.2 is accepted. `tests/tls_test.ts` has the openssl
 * check of the version and ALPN.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { EdgeConnection } from "../client/connection.ts";
import { writeAll } from "../internal/mod.ts";
import { checkClientHello, type ClientHelloCheck, TLS_ALERT } from "../tls/client_hello.ts";
import { ServerProcess } from "./_helpers/server_process.ts";
import { deployment, hasIpv6Loopback, openssl, sClient, tlsServer } from "./_helpers/tls_server.ts";
import { waitUntil, within } from "./_helpers/wait.ts";

/** Records the slow client cuts its ClientHello into, and its pause between them. */
const SLOW_RECORD_BYTES = 40;
const SLOW_PAUSE_MS = 3;

/** The ClientHello a client sends, read by a plain listener, and what the gate says of it. */
async function judge(connect: (port: number) => Promise<unknown>): Promise<ClientHelloCheck> {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const client = connect(listener.addr.port).catch(() => {});
  const conn = await listener.accept();
  let bytes = new Uint8Array(0);
  let check: ClientHelloCheck = { kind: "incomplete", received: 0 };
  try {
    const buffer = new Uint8Array(16 * 1024);
    while (check.kind === "incomplete") {
      const n = await within(conn.read(buffer), "the ClientHello", 5_000);
      if (n === null) break;
      bytes = new Uint8Array([...bytes, ...buffer.subarray(0, n)]);
      check = checkClientHello(bytes);
    }
  } finally {
    conn.close();
    await client;
  }
  return check;
}

Deno.test("real ClientHellos: openssl's TLS 1.2 one is refused, openssl's and rustls' 1.3 pass", async () => {
  const sslClient = (version: string) => (port: number) => {
    const child = openssl(["s_client", "-connect", `127.0.0.1:${port}`, version]).spawn();
    return child.output();
  };
  const twelve = await judge(sslClient("-tls1_2"));
  assert.equal(twelve.kind === "refused" && twelve.alert, TLS_ALERT.protocol_version);
  assert.deepEqual(await judge(sslClient("-tls1_3")), { kind: "tls13" });
  // What the edge sends: Deno.connectTls is rustls with TLS 1.3 and 1.2 offered.
  const rustls = (port: number) =>
    Deno.connectTls({ hostname: "127.0.0.1", port, alpnProtocols: ["iotnet/1"] })
      .then((c) => c.handshake().finally(() => c.close()));
  assert.deepEqual(await judge(rustls), { kind: "tls13" });
});

/**
 * A proxy that re-cuts the client's first TLS record into records of `recordBytes`, sent
 * `pauseMs` apart, then passes everything through: a slow client whose ClientHello spans
 * many records (RFC 8446 §5.1 allows it; the handshake transcript does not change).
 */
function slowRecordsProxy(target: number, recordBytes: number, pauseMs: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    const buffer = new Uint8Array(16 * 1024);
    try {
      for (let n = await from.read(buffer); n !== null; n = await from.read(buffer)) {
        await writeAll(to, buffer.subarray(0, n));
      }
      await to.closeWrite();
    } catch {
      // either side closed
    }
  };
  /** The first record again, in small ones; then the rest as it comes. */
  const recut = async (client: Deno.Conn, server: Deno.Conn) => {
    const header = new Uint8Array(5);
    await client.read(header); // the record header arrives whole on loopback
    const body = new Uint8Array((header[3]! << 8) | header[4]!);
    for (let got = 0; got < body.length;) {
      got += (await client.read(body.subarray(got))) ?? body.length;
    }
    for (let at = 0; at < body.length; at += recordBytes) {
      const fragment = body.subarray(at, at + recordBytes);
      await writeAll(
        server,
        new Uint8Array([22, 3, 1, fragment.length >> 8, fragment.length & 0xff, ...fragment]),
      );
      await new Promise((r) => setTimeout(r, pauseMs));
    }
    await pipe(client, server);
  };
  const serving = (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port: target });
      conns.push(client, server);
      void Promise.all([recut(client, server), pipe(server, client)]).catch(() => {});
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // closed
        }
      }
      await serving;
    },
  };
}

Deno.test("a ClientHello cut into many records and sent slowly passes; the edge logs in", async () => {
  const { ca, server: identity } = await deployment();
  await using s = await tlsServer(identity);
  await using proxy = slowRecordsProxy(s.server.port, SLOW_RECORD_BYTES, SLOW_PAUSE_MS);
  const connection = await EdgeConnection.connect({
    hostname: "127.0.0.1",
    port: proxy.port,
    tlsCa: ca.cert,
  });
  const login = await connection.request("login", { name: "watch1", password: "pw" });
  assert.equal(typeof login.ticketKey, "string");
  connection.close();
  assert.deepEqual(s.logged.filter((l) => /TLS handshake/.test(l)), []);
});

Deno.test("50 edges and 10 TLS 1.2 clients at once: every edge logs in, every 1.2 client is refused, no descriptor is left", async () => {
  const { ca, server: identity } = await deployment();
  await using s = await tlsServer(identity, { devices: 50 });
  const descriptors = () => [...Deno.readDirSync("/proc/self/fd")].length;
  const before = descriptors();
  const edges = Array.from({ length: 50 }, async (_, i) => {
    const connection = await EdgeConnection.connect({
      hostname: "127.0.0.1",
      port: s.server.port,
      tlsCa: ca.cert,
    });
    try {
      return await connection.request("login", { name: `dev${i}`, password: "pw" });
    } finally {
      connection.close();
    }
  });
  const old = Array.from({ length: 10 }, () => sClient("127.0.0.1", s.server.port, ["-tls1_2"]));
  for (const login of await Promise.all(edges)) assert.equal(typeof login.ticketKey, "string");
  for (const text of await Promise.all(old)) assert.match(text, /SSL alert number 70/);
  const refused = () => s.logged.filter((l) => /does not offer TLS 1\.3/.test(l)).length;
  await waitUntil(() => refused() === 10, "10 refusals in the log");
  // Every socket, refused or served, is closed again (a refused one is shut under rustls).
  await waitUntil(() => descriptors() <= before, `descriptors back to ${before}`);
});

Deno.test({
  name: "over IPv6 loopback an edge logs in and a TLS 1.2 client is refused",
  ignore: !hasIpv6Loopback(),
  async fn() {
    const { ca, server: identity } = await deployment(["::1"]);
    await using s = await tlsServer(identity, { hostname: "::1" });
    const connection = await EdgeConnection.connect({
      hostname: "::1",
      port: s.server.port,
      tlsCa: ca.cert,
    });
    const login = await connection.request("login", { name: "watch1", password: "pw" });
    assert.equal(typeof login.ticketKey, "string");
    connection.close();
    assert.match(await sClient("::1", s.server.port, ["-tls1_2"]), /SSL alert number 70/);
    assert.match(await sClient("::1", s.server.port, ["-tls1_3"]), /New, TLSv1\.3/);
  },
});

Deno.test("a client that sends 40 KiB before any answer gets no session", async () => {
  const { server: identity } = await deployment();
  await using s = await tlsServer(identity);
  // A TLS 1.2 ClientHello captured from openssl, then filler: enough to wake rustls.
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const child = openssl(["s_client", "-connect", `127.0.0.1:${listener.addr.port}`, "-tls1_2"])
    .spawn();
  const captured = await listener.accept();
  const hello = new Uint8Array(4096);
  const n = (await captured.read(hello))!;
  captured.close();
  await child.output();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.server.port });
  const flood = new Uint8Array(n + 40 * 1024);
  flood.set(hello.subarray(0, n));
  await conn.write(flood).catch(() => {});
  // Whatever came back, the connection ends and the log says why.
  // It may get rustls' TLS 1.2 answer if rustls read first (docs/SECURITY.md), then the
  // gate's alert; either way the connection ends.
  try {
    for await (const _ of conn.readable) { /* drain */ }
  } catch {
    // reset
  }
  const line = await within(
    (async () => {
      await waitUntil(() => s.logged.some((l) => /TLS handshake with/.test(l)), "log");
      return s.logged.find((l) => /TLS handshake with/.test(l))!;
    })(),
    "the refusal",
    10_000,
  );
  assert.match(line, /sent 32768 bytes or more before any answer|first bytes were read before/);
  // No session was started for it.
  assert.equal(s.logged.some((l) => /^connection from/.test(l)), false, s.logged.join("\n"));
});

Deno.test("a client that sends nothing, or half a ClientHello, is closed at the login deadline", async () => {
  const { server: identity } = await deployment();
  await using s = await tlsServer(identity, { loginDeadlineMs: 1_500 });
  const silent = await Deno.connect({ hostname: "127.0.0.1", port: s.server.port });
  const partial = await Deno.connect({ hostname: "127.0.0.1", port: s.server.port });
  await partial.write(new Uint8Array([22, 3, 1, 0, 200, 1, 0, 0, 196, 3, 3]));
  for (const conn of [silent, partial]) {
    // The server closes it (end of stream), having sent nothing.
    const got = await within(conn.read(new Uint8Array(64)), "the server to close", 10_000);
    assert.equal(got, null);
    conn.close();
  }
  await waitUntil(() => s.logged.filter((l) => /no whole ClientHello/.test(l)).length === 2, "log");
  assert.ok(s.logged.some((l) => /no whole ClientHello within 1500 ms \(11 bytes came\)$/.test(l)));
  assert.ok(s.logged.some((l) => /no whole ClientHello within 1500 ms \(0 bytes came\)$/.test(l)));
});

Deno.test("without FFI the server says once that TLS 1.2 is accepted, and still serves TLS", async () => {
  const dir = await Deno.makeTempDir({ prefix: "iotnet-tls-noffi-" });
  try {
    const { ca, server: identity } = await deployment();
    await Deno.writeTextFile(join(dir, "server.crt"), identity.cert);
    await Deno.writeTextFile(join(dir, "server.key"), identity.key);
    await using server = await ServerProcess.start({
      args: ["--tls-cert", join(dir, "server.crt"), "--tls-key", join(dir, "server.key")],
      denyFlags: ["--deny-ffi"],
    });
    await server.waitForLog(/^start-up check/);
    const warnings = server.log.filter((l) => /cannot refuse TLS 1\.2/.test(l));
    assert.deepEqual(warnings, [
      "warning: cannot refuse TLS 1.2 on the TLS port (needs Linux, --allow-ffi and read " +
      "access to /proc/self/fd); clients that offer only TLS 1.2 are accepted",
    ]);
    assert.ok(server.log.includes("devices connect with TLS, ALPN iotnet/1"));
    const connection = await EdgeConnection.connect({
      hostname: "127.0.0.1",
      port: server.port,
      tlsCa: ca.cert,
    });
    connection.close();
    assert.match(await sClient("127.0.0.1", server.port, ["-tls1_2"]), /New, TLSv1\.2/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
