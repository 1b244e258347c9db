import assert from "node:assert/strict";
import {
  portBelowEphemeral,
  startToolServer,
  ToolServerError,
} from "../scripts/bench/tool_server.ts";

/** A stand-in for a reference tool: listens on TCP `port` of 127.0.0.1 until killed. */
function listener(port: number): string[] {
  return [
    Deno.execPath(),
    "eval",
    `Deno.listen({ hostname: "127.0.0.1", port: ${port} }); setTimeout(() => {}, 60_000);`,
  ];
}

Deno.test("a tool that binds port 0 is found on the port the kernel gave it", async () => {
  const asked: number[] = [];
  await using tool = await startToolServer({
    transport: "tcp",
    port: "kernel",
    command(port) {
      asked.push(port);
      return listener(port);
    },
  });
  assert.deepEqual(asked, [0]);
  (await Deno.connect({ hostname: "127.0.0.1", port: tool.port })).close();
  await tool.stop();
  assert.equal((await tool.child.status).success, false, "stopped by a signal");
});

Deno.test("a tool given a port that is taken is started again on another one", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tried: number[] = [];
  await using tool = await startToolServer({
    transport: "tcp",
    port: "chosen",
    choosePort: () => tried.length === 0 ? taken.addr.port : portBelowEphemeral(),
    command(port) {
      tried.push(port);
      return listener(port);
    },
  });
  assert.equal(tried[0], taken.addr.port);
  assert.equal(tool.port, tried.at(-1));
  assert.notEqual(tool.port, taken.addr.port);
  (await Deno.connect({ hostname: "127.0.0.1", port: tool.port })).close();
});

Deno.test("a tool that never serves is given up after its attempts, with the command to run", async () => {
  let attempts = 0;
  const error = await startToolServer({
    transport: "udp",
    port: "chosen",
    attempts: 3,
    command() {
      attempts++;
      return [Deno.execPath(), "eval", "Deno.exit(1)"];
    },
  }).then(() => undefined, (e) => e);
  assert.equal(attempts, 3);
  assert.ok(error instanceof ToolServerError, String(error));
  assert.match(
    error.message,
    /did not serve \(3 attempts\): .* it exited; run it by hand to see why: /,
  );
  assert.match(error.message, /eval Deno\.exit\(1\)$/);
  assert.ok(error.cause instanceof Error);
});

Deno.test("portBelowEphemeral stays between 1024 and the start of the kernel's ephemeral range", () => {
  const start = Number(
    Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").split(/\s+/)[0],
  );
  for (let i = 0; i < 1000; i++) {
    const port = portBelowEphemeral();
    assert.ok(Number.isInteger(port) && port >= 1024 && port < start, String(port));
  }
});
