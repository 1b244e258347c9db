/**
 * Connections reset by their clients before the server takes them (a port scanner, a
 * balancer's health check) never stop the server accepting: the accept loop skips them
 * (`server/accept_loop.ts`). Before, the first such connection ended the accept loop in
 * silence and the port held every later connection unanswered in its backlog.
 */

import { encodeProxyHeader } from "../protocol/proxy_header.ts";
import { EdgeConnection } from "../client/connection.ts";
import { TestServer } from "./_helpers/in_process_server.ts";
import { connectAndReset } from "./_helpers/reset_connection.ts";
import { within } from "./_helpers/wait.ts";

const linux = Deno.build.os === "linux";

Deno.test({
  name: "connections reset before they are accepted leave the server accepting",
  ignore: !linux,
  async fn() {
    await using server = await TestServer.start();
    connectAndReset(server.port, 20);
    await server.login("watch1");
    await server.waitForLog(/^watch1 joined from 127\.0\.0\.1/);
  },
});

Deno.test({
  name: "--proxy-protocol: connections reset before they are accepted leave the server accepting",
  ignore: !linux,
  async fn() {
    await using server = await TestServer.start({ proxyProtocol: true });
    connectAndReset(server.port, 20);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await conn.write(encodeProxyHeader({
      kind: "tcp4",
      source: { address: "192.0.2.5", port: 1 },
      destination: { address: "10.0.0.2", port: 2 },
    }));
    const edge = await within(
      EdgeConnection.open(conn, { localHostname: "127.0.0.1", server: "test" }),
      "the hello answered",
      10_000,
    );
    try {
      await edge.request("login", { name: "watch1", password: "pw1" });
      await edge.request("udp_port", { port: 9 });
      await server.waitForLog(/^watch1 joined from 192\.0\.2\.5/);
    } finally {
      edge.close();
    }
  },
});
