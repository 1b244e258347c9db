import assert from "node:assert/strict";
import { chatDatagramVerifies, deriveChatKeys, sealChatDatagram } from "./chat_keys.ts";
import { encodePacket } from "./packet.ts";

const secret = Uint8Array.from({ length: 32 }, (_, i) => i);
const chatId = Uint8Array.from({ length: 16 }, (_, i) => 200 - i);

function chat(number: number, text: string): Uint8Array {
  return encodePacket({
    type: "chat",
    id: chatId,
    number,
    text: new TextEncoder().encode(text),
    tag: new Uint8Array(32),
  });
}

Deno.test("chat keys: one key per direction, the same at both ends", () => {
  const alice = deriveChatKeys(secret, chatId, "alice", "bob");
  const bob = deriveChatKeys(secret, chatId, "bob", "alice");
  assert.deepEqual(alice.send, bob.receive);
  assert.deepEqual(alice.receive, bob.send);
  assert.notDeepEqual(alice.send, alice.receive);
  // Another chat, another secret, or other names: other keys.
  assert.notDeepEqual(deriveChatKeys(secret, new Uint8Array(16), "alice", "bob").send, alice.send);
  assert.notDeepEqual(
    deriveChatKeys(secret.map((b) => b ^ 1), chatId, "alice", "bob").send,
    alice.send,
  );
  assert.notDeepEqual(deriveChatKeys(secret, chatId, "alice", "bob2").send, alice.send);
  assert.throws(() => deriveChatKeys(new Uint8Array(16), chatId, "a", "b"), RangeError);
});

Deno.test("chat keys: a sealed datagram verifies only unchanged and only in its direction", () => {
  const alice = deriveChatKeys(secret, chatId, "alice", "bob");
  const bob = deriveChatKeys(secret, chatId, "bob", "alice");
  const sealed = sealChatDatagram(alice.send, chat(7, "hello bob"));
  assert.equal(chatDatagramVerifies(bob.receive, sealed), true);
  assert.equal(chatDatagramVerifies(alice.receive, sealed), false, "reflected back");
  for (let i = 0; i < sealed.length; i++) {
    const edited = sealed.slice();
    edited[i]! ^= 0x01;
    assert.equal(chatDatagramVerifies(bob.receive, edited), false, `byte ${i} flipped`);
  }
  assert.equal(chatDatagramVerifies(bob.receive, sealed.subarray(0, 20)), false);
  assert.equal(chatDatagramVerifies(bob.receive, new Uint8Array(3)), false);
});
