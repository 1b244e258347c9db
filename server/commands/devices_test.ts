import assert from "node:assert/strict";
import { join } from "node:path";
import { ManualClock } from "../../internal/clock.ts";
import { EncodedJson } from "../../protocol/codec.ts";
import { ActiveDevices } from "../active_devices.ts";
import type { CommandContext, ServerContext } from "../context.ts";
import { Disk } from "../disk.ts";
import type { Blocks } from "../store/interfaces.ts";
import { devices } from "./devices.ts";
import { whoelse, whoelsesince } from "./who.ts";

/** Resolves after `hops` microtasks. */
async function microtasks(hops: number): Promise<void> {
  for (let i = 0; i < hops; i++) await Promise.resolve();
}

/**
 * A device leaving while a listing waits for the store: the store answers, and the
 * device leaves `hops` microtasks later, at every point of the handler's way back.
 */
Deno.test("AED, whoelse and whoelsesince answer whole while a device leaves around their store read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (let hops = 0; hops < 12; hops++) {
      const active = new ActiveDevices(join(dir, "edge-device-log.txt"), {
        disk: new Disk(),
        onError: (error) => assert.fail(`${error}`),
      });
      for (const name of ["viewer", "leaver", "stayer"]) {
        active.claim(name);
        active.activate({
          name,
          since: 0,
          ip: "127.0.0.1",
          udpPort: 9,
          ticketKey: new Uint8Array(32),
          deliver() {},
        });
      }
      const blocks: Partial<Blocks> = {
        blockersOf() {
          void microtasks(hops).then(() => active.release("leaver"));
          return Promise.resolve(new Set<string>());
        },
      };
      const server = {
        active,
        blocks,
        clock: new ManualClock(0),
        log: () => {},
        presenceHistory: { seenSince: () => Promise.resolve([]) },
      } as unknown as ServerContext;
      const ctx = { server, device: "viewer" } as unknown as CommandContext;
      const listed = await devices(ctx);
      assert.ok(listed.devices instanceof EncodedJson);
      const names = (JSON.parse(listed.devices.text) as { name: string }[]).map((d) => d.name);
      assert.ok(names.includes("stayer"), `after ${hops} hops: ${names}`);
      for (const handler of [whoelse, whoelsesince]) {
        active.claim("leaver");
        active.activate({
          name: "leaver",
          since: 0,
          ip: "127.0.0.1",
          udpPort: 9,
          ticketKey: new Uint8Array(32),
          deliver() {},
        });
        const { devices: others } = await handler(ctx, { seconds: 60 });
        assert.ok(others.includes("stayer"), `after ${hops} hops: ${others}`);
      }
      await active.flushed();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
