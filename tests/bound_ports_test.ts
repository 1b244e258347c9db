import assert from "node:assert/strict";
import { boundPorts, refusingPort, waitForBoundPort } from "./_helpers/bound_ports.ts";

Deno.test("boundPorts lists a process's own listening TCP and bound UDP ports, not its connections", async () => {
  using tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const udp = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  try {
    const udpPort = (udp.addr as Deno.NetAddr).port;
    using client = await Deno.connect({ hostname: "127.0.0.1", port: tcp.addr.port });
    using _accepted = await tcp.accept();
    const tcpPorts = await boundPorts(Deno.pid, "tcp");
    assert.ok(tcpPorts.includes(tcp.addr.port), `${tcp.addr.port} in ${tcpPorts}`);
    assert.ok(!tcpPorts.includes(client.localAddr.port), "a connection's port is not listening");
    const udpPorts = await boundPorts(Deno.pid, "udp");
    assert.ok(udpPorts.includes(udpPort), `${udpPort} in ${udpPorts}`);
  } finally {
    udp.close();
  }
});

Deno.test("boundPorts of a process that is gone is empty", async () => {
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", ""], stdout: "null" }).spawn();
  await child.status;
  assert.deepEqual(await boundPorts(child.pid, "tcp"), []);
});

Deno.test("waitForBoundPort reads the port a child bound on port 0", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "Deno.listen({ hostname: '127.0.0.1', port: 0 }); setTimeout(() => {}, 60_000);",
    ],
    stdout: "null",
  }).spawn();
  try {
    const port = await waitForBoundPort(child.pid, "tcp", { exited: child.status });
    // The child holds it: a connection reaches the child, and nothing else can listen there.
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    assert.throws(() => Deno.listen({ hostname: "127.0.0.1", port }), Deno.errors.AddrInUse);
  } finally {
    child.kill();
    await child.status;
  }
});

Deno.test("waitForBoundPort fails at once, saying so, when the process exits before it binds", async () => {
  const child = new Deno.Command(Deno.execPath(), { args: ["eval", "Deno.exit(3)"] }).spawn();
  const began = Date.now();
  await assert.rejects(
    waitForBoundPort(child.pid, "tcp", { exited: child.status, timeoutMs: 20_000 }),
    /waiting for process \d+ to listen on a tcp port: it exited/,
  );
  assert.ok(Date.now() - began < 10_000, "it did not wait for the deadline");
});

Deno.test("waitForBoundPort with a port named waits for that one, not another the process holds", async () => {
  using other = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await assert.rejects(
    waitForBoundPort(Deno.pid, "tcp", { port: 1, timeoutMs: 100 }),
    /timed out after 100 ms waiting for process \d+ to listen on tcp port 1/,
  );
  assert.equal(
    await waitForBoundPort(Deno.pid, "tcp", { port: other.addr.port }),
    other.addr.port,
  );
});

Deno.test("refusingPort refuses connections and cannot be taken while it is held", async () => {
  await using refusing = await refusingPort();
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: refusing.port }),
    Deno.errors.ConnectionRefused,
  );
  assert.throws(
    () => Deno.listen({ hostname: "127.0.0.1", port: refusing.port }),
    Deno.errors.AddrInUse,
  );
});
