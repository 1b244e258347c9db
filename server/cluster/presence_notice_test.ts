import assert from "node:assert/strict";
import { decodePresenceNotice, encodePresenceNotice } from "./presence_notice.ts";

Deno.test("a presence notice round-trips, online with its ticket key", () => {
  const online = {
    state: "online",
    name: "watch1",
    node: "node-a",
    epoch: 4,
    order: 17,
    since: 1_700_000_000_000,
    ip: "127.0.0.1",
    udpPort: 6000,
    ticketKey: new Uint8Array(32).fill(7),
  } as const;
  assert.deepEqual(decodePresenceNotice(encodePresenceNotice(online)), online);
  const offline = {
    state: "offline",
    name: "watch1",
    node: "node-a",
    epoch: 4,
    order: 17,
  } as const;
  assert.deepEqual(decodePresenceNotice(encodePresenceNotice(offline)), offline);
});

Deno.test("a notice whose order the database set is read with that order", () => {
  const text = encodePresenceNotice({
    state: "offline",
    name: "w",
    node: "n",
    epoch: 1,
    order: 0,
  });
  // What `jsonb_set(notice, '{order}', to_jsonb(login_order))` gives (keys reordered).
  const set = JSON.stringify({ ...JSON.parse(text), order: 42 });
  assert.equal(decodePresenceNotice(set).order, 42);
});

Deno.test("a malformed notice is refused with the field it lacks", () => {
  assert.throws(() => decodePresenceNotice("not json"), SyntaxError);
  assert.throws(() => decodePresenceNotice("[1]"), /field name/);
  assert.throws(() => decodePresenceNotice("null"), /JSON object/);
  assert.throws(
    () =>
      decodePresenceNotice(JSON.stringify({ s: "away", name: "w", node: "n", epoch: 1, order: 1 })),
    /unknown presence state "away"/,
  );
  assert.throws(
    () =>
      decodePresenceNotice(
        JSON.stringify({
          s: "online",
          name: "w",
          node: "n",
          epoch: 1,
          order: 1,
          since: 1,
          ip: "x",
        }),
      ),
    /field udpPort must be a number/,
  );
  assert.throws(
    () =>
      decodePresenceNotice(
        JSON.stringify({ s: "offline", name: "w", node: "n", epoch: "1", order: 1 }),
      ),
    /field epoch must be a number/,
  );
});
