import assert from "node:assert/strict";
import { setListenerNoDelay } from "./listener_no_delay.ts";

Deno.test("setListenerNoDelay finds this process's listener by its port and sets TCP_NODELAY", () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  assert.equal(setListenerNoDelay(listener.addr.port), Deno.build.os === "linux");
});

Deno.test("setListenerNoDelay leaves alone a port nothing listens on", () => {
  const port = (() => {
    using probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    return probe.addr.port;
  })();
  assert.equal(setListenerNoDelay(port), false);
});
