/**
 * `--proxy-protocol` end to end (SPEC §9): the real `iotnet server` behind a real haproxy
 * with `send-proxy-v2`, real edges through it. Everything runs on loopback, so haproxy
 * connects to the server from 127.0.0.2 (`source`) while the edges connect to haproxy from
 * 127.0.0.1: an address of 127.0.0.1 recorded for a device can only have come from the
 * PROXY header. A second frontend without `send-proxy-v2` is the control: its connection
 * is refused, logged with haproxy's own address. Needs haproxy (`.ci/run` installs it);
 * outside CI the tests are skipped without it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createCa, issueServerCert } from "../tls/certificates.ts";
import { EdgeProcess } from "./_helpers/edge_process.ts";
import { Haproxy } from "./_helpers/haproxy.ts";
import { skipWithout } from "./_helpers/required_tool.ts";
import { ServerProcess } from "./_helpers/server_process.ts";
import { waitUntil } from "./_helpers/wait.ts";

/** haproxy's address towards the server: not the devices' 127.0.0.1. */
const BALANCER_SOURCE = "127.0.0.2";

Deno.test({
  name:
    "haproxy send-proxy-v2 in front: devices are recorded with their own address, not haproxy's",
  ignore: skipWithout("haproxy"),
  async fn() {
    await using server = await ServerProcess.start({ args: ["--proxy-protocol"] });
    await using haproxy = await Haproxy.start([
      // Health checks every 200 ms: haproxy sends them a LOCAL header.
      { to: server.port, options: `send-proxy-v2 source ${BALANCER_SOURCE} check inter 200ms` },
      { to: server.port, options: `source ${BALANCER_SOURCE}` }, // the control: no header
    ]);
    const [balanced, plain] = haproxy.ports as [number, number];
    await using watch1 = await EdgeProcess.start({ port: balanced }, { login: "watch1" });
    await using watch2 = await EdgeProcess.start({ port: balanced }, { login: "watch2" });
    for (const [edge, other] of [[watch1, "watch2"], [watch2, "watch1"]] as const) {
      const aed = await edge.command("AED");
      assert.equal(aed.ok, true, JSON.stringify(aed));
      assert.deepEqual(
        (aed.devices as { name: string; ip: string }[]).map((d) => [d.name, d.ip]),
        [[other, "127.0.0.1"]],
      );
    }
    await server.waitForLog(/^watch1 joined from 127\.0\.0\.1, UDP port \d+$/);
    await server.waitForLog(/^watch2 joined from 127\.0\.0\.1, UDP port \d+$/);
    await waitUntil(
      async () => (await server.read("edge-device-log.txt")).split("\n").length === 3,
      "both devices in edge-device-log.txt",
    );
    const activeLog = await server.read("edge-device-log.txt");
    assert.match(activeLog, /^1; .*; watch1; 127\.0\.0\.1; \d+$/m);
    assert.match(activeLog, /^2; .*; watch2; 127\.0\.0\.1; \d+$/m);

    // The control: haproxy without send-proxy-v2. The server sees haproxy's address.
    await using direct = await EdgeProcess.start({ port: plain });
    await direct.send("watch3", "pw3");
    assert.equal((await direct.exited()).code, 1);
    await server.waitForLog(
      /^refused a connection from 127\.0\.0\.2: no PROXY protocol v2 header: the connection began with 00 00 00 .* \(an iotnet frame: the device reached this port without the balancer\)$/,
    );
    // haproxy's address is in no other line: its health checks (LOCAL) end quietly.
    const balancerLines = server.log.filter((l) => l.includes(BALANCER_SOURCE));
    assert.equal(balancerLines.length, 1, balancerLines.join("\n"));
  },
});

Deno.test({
  name: "haproxy send-proxy-v2 passing TLS through: the header in clear, then TLS to the server",
  ignore: skipWithout("haproxy"),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "iotnet-proxy-tls-" });
    try {
      const ca = await createCa("iotnet test CA");
      const identity = await issueServerCert(ca, { hosts: ["127.0.0.1", "localhost"] });
      const files = {
        ca: join(dir, "ca.crt"),
        cert: join(dir, "server.crt"),
        key: join(dir, "server.key"),
      };
      await Deno.writeTextFile(files.ca, ca.cert);
      await Deno.writeTextFile(files.cert, identity.cert);
      await Deno.writeTextFile(files.key, identity.key);
      await using server = await ServerProcess.start({
        args: ["--proxy-protocol", "--tls-cert", files.cert, "--tls-key", files.key],
      });
      await server.waitForLog(/^devices connect with TLS 1\.3, ALPN iotnet\/1$/);
      await using haproxy = await Haproxy.start([
        { to: server.port, options: `send-proxy-v2 source ${BALANCER_SOURCE}` },
      ]);
      const [port] = haproxy.ports as [number];
      const tls = { args: ["--tls-ca", files.ca] };
      await using watch1 = await EdgeProcess.start({ port }, { ...tls, login: "watch1" });
      await using watch2 = await EdgeProcess.start({ port }, { ...tls, login: "watch2" });
      const aed = await watch1.command("AED");
      assert.deepEqual(
        (aed.devices as { name: string; ip: string }[]).map((d) => [d.name, d.ip]),
        [["watch2", "127.0.0.1"]],
      );
      assert.deepEqual((await watch2.command("WHOELSE")).devices, ["watch1"]);
      await server.waitForLog(/^watch1 joined from 127\.0\.0\.1, UDP port \d+$/);
      // A file through haproxy and TLS: EDG writes it, UED uploads it, SCS sums it.
      const edg = await watch1.command("EDG 1 5000");
      assert.equal(edg.ok, true, JSON.stringify(edg));
      const ued = await watch1.command("UED 1");
      assert.equal(ued.ok, true, JSON.stringify(ued));
      const scs = await watch1.command("SCS 1 SUM");
      assert.equal(scs.ok, true, JSON.stringify(scs));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
