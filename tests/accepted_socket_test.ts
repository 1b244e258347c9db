/**
 * Finding an accepted connection's descriptor through libc (`internal/accepted_socket.ts`)
 * on real sockets: among many connections of this one process, both ends of each in the
 * same descriptor table, each is found as itself (what its peer sent is what peeking it
 * shows), over IPv4 and IPv6 loopback; peeking consumes nothing; a closed connection is
 * found nowhere.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AcceptedSockets } from "../internal/mod.ts";
import { hasIpv6Loopback } from "./_helpers/tls_server.ts";
import { waitUntil } from "./_helpers/wait.ts";

const CONNECTIONS = 40;

/** `count` connections to a listener on `hostname`, each side with its own 4-byte marker. */
async function pairs(hostname: string, count: number) {
  const listener = Deno.listen({ hostname, port: 0 });
  const clients = await Promise.all(
    Array.from({ length: count }, () => Deno.connect({ hostname, port: listener.addr.port })),
  );
  const servers: Deno.Conn[] = [];
  for (let i = 0; i < count; i++) servers.push(await listener.accept());
  listener.close();
  const byPort = new Map(clients.map((c) => [(c.localAddr as Deno.NetAddr).port, c]));
  return servers.map((server, i) => {
    const client = byPort.get((server.remoteAddr as Deno.NetAddr).port)!;
    return { server, client, toServer: marker(i, 0xc1), toClient: marker(i, 0x5e) };
  });
}

function marker(i: number, tag: number): Uint8Array {
  return new Uint8Array([tag, i >> 8, i & 0xff, 0x42]);
}

/** Peeks `fd` until `bytes` are there (they were written to the peer just before). */
async function peekUntil(sockets: AcceptedSockets, fd: number, bytes: number) {
  const buffer = new Uint8Array(256);
  let count = 0;
  await waitUntil(() => {
    const peeked = sockets.peek(fd, buffer);
    count = peeked.kind === "bytes" ? peeked.count : 0;
    return count >= bytes;
  }, `${bytes} bytes on descriptor ${fd}`);
  return buffer.slice(0, count);
}

for (const hostname of ["127.0.0.1", "::1"]) {
  Deno.test({
    name: `each of ${CONNECTIONS} connections over ${hostname} is found as itself, at both ends`,
    ignore: hostname === "::1" && !hasIpv6Loopback(),
    async fn() {
      const sockets = AcceptedSockets.open();
      assert.ok(sockets, "needs Linux, --allow-ffi and /proc/self/fd");
      const conns = await pairs(hostname, CONNECTIONS);
      try {
        for (const { server, client, toServer, toClient } of conns) {
          await client.write(toServer);
          await server.write(toClient);
        }
        const found = new Set<number>();
        for (const { server, client, toServer, toClient } of conns) {
          const serverFd = sockets.locate(server);
          const clientFd = sockets.locate(client);
          assert.ok(serverFd !== undefined && clientFd !== undefined);
          assert.deepEqual(await peekUntil(sockets, serverFd, 4), toServer);
          assert.deepEqual(await peekUntil(sockets, clientFd, 4), toClient);
          assert.equal(sockets.bytesReceived(serverFd), 4);
          found.add(serverFd).add(clientFd);
        }
        assert.equal(found.size, 2 * CONNECTIONS, "no descriptor found twice");
        // Peeking consumed nothing: the connection still reads its marker.
        const { server, toServer } = conns[0]!;
        const read = new Uint8Array(4);
        assert.equal(await server.read(read), 4);
        assert.deepEqual(read, toServer);
        const fd = sockets.locate(server)!;
        assert.deepEqual(sockets.peek(fd, new Uint8Array(8)), { kind: "nothing" });
        assert.equal(sockets.bytesReceived(fd), 4, "received counts what was read too");
      } finally {
        for (const { server, client } of conns) {
          server.close();
          client.close();
        }
        sockets.close();
      }
    },
  });
}

Deno.test("a closed connection is found nowhere; its peer sees it closed", async () => {
  const sockets = AcceptedSockets.open()!;
  const { server, client } = (await pairs("127.0.0.1", 1))[0]!;
  try {
    const clientFd = sockets.locate(client)!;
    const addresses = { localAddr: server.localAddr, remoteAddr: server.remoteAddr };
    server.close();
    assert.equal(sockets.locate(addresses), undefined);
    await waitUntil(
      () => sockets.peek(clientFd, new Uint8Array(8)).kind === "closed",
      "the client to see the end of the stream",
    );
  } finally {
    client.close();
    sockets.close();
  }
});

Deno.test("refuse sends its last bytes and ends the connection for the peer", async () => {
  const sockets = AcceptedSockets.open()!;
  const { server, client } = (await pairs("127.0.0.1", 1))[0]!;
  try {
    await client.write(new Uint8Array(100));
    const fd = sockets.locate(server)!;
    await peekUntil(sockets, fd, 100);
    sockets.refuse(fd, new Uint8Array([21, 3, 3, 0, 2, 2, 70]));
    const got = new Uint8Array(16);
    assert.equal(await client.read(got), 7);
    assert.deepEqual(got.subarray(0, 7), new Uint8Array([21, 3, 3, 0, 2, 2, 70]));
    assert.equal(await client.read(got), null, "then end of stream");
  } finally {
    server.close();
    client.close();
    sockets.close();
  }
});
