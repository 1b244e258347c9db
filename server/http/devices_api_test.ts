import assert from "node:assert/strict";
import { MAX_PAGE_DEVICES, pageDevices, parseDeviceQuery, withStoredFacts } from "./devices_api.ts";

const device = (name: string, since = 0) => ({ name, since, ip: "10.0.0.1", udpPort: 7 });

Deno.test("parseDeviceQuery: defaults, and each bad parameter named with its range", () => {
  assert.deepEqual(parseDeviceQuery(new URLSearchParams()), { search: "", offset: 0, limit: 50 });
  assert.deepEqual(parseDeviceQuery(new URLSearchParams("q=cam&offset=10&limit=5")), {
    search: "cam",
    offset: 10,
    limit: 5,
  });
  assert.equal(
    parseDeviceQuery(new URLSearchParams(`limit=${MAX_PAGE_DEVICES + 1}`)),
    `limit must be an integer 1..${MAX_PAGE_DEVICES}, not "501"`,
  );
  assert.match(String(parseDeviceQuery(new URLSearchParams("limit=0"))), /^limit must be/);
  assert.match(String(parseDeviceQuery(new URLSearchParams("offset=-1"))), /^offset must be/);
  assert.match(String(parseDeviceQuery(new URLSearchParams("offset=1e3"))), /^offset must be/);
  assert.match(
    String(parseDeviceQuery(new URLSearchParams(`q=${"x".repeat(65)}`))),
    /^q is longer/,
  );
});

Deno.test("pageDevices: search any case, then page; total counts the matches", () => {
  const all = Array.from({ length: 12 }, (_, i) => device(i % 2 ? `cam${i}` : `Watch${i}`, i));
  const page = pageDevices(all, { search: "watch", offset: 2, limit: 3 });
  assert.equal(page.total, 6);
  assert.deepEqual(page.devices.map((d) => d.name), ["Watch4", "Watch6", "Watch8"]);
  assert.equal(page.devices[0]!.since, new Date(4).toISOString());
  assert.deepEqual(pageDevices(all, { search: "", offset: 20, limit: 3 }).devices, []);
});

Deno.test("pageDevices: a device of a network carries its node; one of a server alone has none", () => {
  const page = pageDevices([device("alone"), { ...device("far"), node: "node-b" }], {
    search: "",
    offset: 0,
    limit: 5,
  });
  assert.deepEqual(page.devices.map((d) => Object.hasOwn(d, "node") ? d.node : "-"), [
    "-",
    "node-b",
  ]);
});

Deno.test("withStoredFacts: files, latest upload, messages and a running lockout of the page's devices only", async () => {
  const page = pageDevices([device("cam1"), device("cam2"), device("watch3")], {
    search: "cam",
    offset: 0,
    limit: 10,
  });
  const asked: string[] = [];
  const facts = await withStoredFacts(page, {
    files: {
      summaryOfDevice: (name) => {
        asked.push(name);
        return Promise.resolve(
          name === "cam1"
            ? { files: 3, lastUploadAt: 5_000 }
            : { files: 0, lastUploadAt: undefined },
        );
      },
    },
    mailbox: {
      pending: (name) =>
        Promise.resolve(
          name === "cam2" ? [{ id: 1, sender: "watch3", text: "hi", sentAt: 0 }] : [],
        ),
    },
    // cam1's lockout has ended; cam2's runs.
    lockouts: { until: (name) => Promise.resolve(name === "cam1" ? 9_000 : 20_000) },
    now: 10_000,
  });
  assert.deepEqual(asked, ["cam1", "cam2"]);
  assert.equal(facts.total, 2);
  assert.deepEqual(
    facts.devices.map(({ name, files, lastUpload, messagesWaiting, lockedUntil }) => ({
      name,
      files,
      lastUpload,
      messagesWaiting,
      lockedUntil,
    })),
    [
      {
        name: "cam1",
        files: 3,
        lastUpload: new Date(5_000).toISOString(),
        messagesWaiting: 0,
        lockedUntil: null,
      },
      {
        name: "cam2",
        files: 0,
        lastUpload: null,
        messagesWaiting: 1,
        lockedUntil: new Date(20_000).toISOString(),
      },
    ],
  );
});
