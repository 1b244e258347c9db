import assert from "node:assert/strict";
import { PrivateChats } from "./private_chats.ts";

Deno.test("cancelRequests withdraws the open requests between two devices, both ways, and no others", () => {
  const chats = new PrivateChats();
  chats.request("a", "b", 1_000);
  chats.request("b", "a", 1_000);
  chats.request("c", "b", 1_000);
  chats.request("a", "d", 10); // expired by now
  assert.deepEqual(chats.cancelRequests("b", "a", 100), [
    { from: "b", to: "a" },
    { from: "a", to: "b" },
  ]);
  assert.equal(chats.takeRequest("a", "b", 100), false, "gone: an answer finds nothing");
  assert.deepEqual(chats.cancelRequests("a", "d", 100), [], "an expired request is not reported");
  assert.equal(chats.takeRequest("c", "b", 100), true, "another device's request stays");
});
