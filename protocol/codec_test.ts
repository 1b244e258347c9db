import assert from "node:assert/strict";
import { decodeMessage, EncodedJson, encodeMessage, encodeResponse } from "./codec.ts";
import { ProtocolError } from "./errors.ts";
import { FrameDecoder } from "./frame.ts";
import type { Message } from "./messages.ts";

function roundTrip(message: Message, opOf?: Parameters<typeof decodeMessage>[1]): Message {
  const [frame] = new FrameDecoder().frames(encodeMessage(message));
  assert.ok(frame?.kind === "message");
  return decodeMessage(frame.body, opOf);
}

const body = (text: string) => new TextEncoder().encode(text);

Deno.test("every request op round-trips", () => {
  const requests: Message[] = [
    { t: "req", id: 1, op: "hello", protocol: "iotnet", version: 1 },
    { t: "req", id: 2, op: "login", name: "watch1", password: "pässword" },
    { t: "req", id: 3, op: "udp_port", port: 6000 },
    { t: "req", id: 4, op: "upload", fileID: 1, bytes: 100 },
    { t: "req", id: 5, op: "upload_abort", upload: 4 },
    { t: "req", id: 6, op: "compute", fileID: 1, operation: "SUM" },
    { t: "req", id: 7, op: "delete", fileID: 1 },
    { t: "req", id: 8, op: "devices" },
    { t: "req", id: 9, op: "uvf", to: "b", filename: "f.txt", size: 3 },
    { t: "req", id: 0xffff_ffff, op: "logout" },
  ];
  for (const request of requests) assert.deepEqual(roundTrip(request), request);
});

Deno.test("results are checked against the op they answer", () => {
  const ok: Message = { t: "res", id: 3, ok: true, op: "SUM", result: "42" };
  assert.deepEqual(roundTrip(ok, () => "compute"), ok);
  const bad: Message = { t: "res", id: 3, ok: true, op: "SUM" };
  assert.throws(() => roundTrip(bad, () => "compute"), /result of compute: result is missing/);
  const list: Message = {
    t: "res",
    id: 4,
    ok: true,
    devices: [{ name: "a", since: "1 May 2026 10:00:00", ip: "127.0.0.1", udpPort: "x" }],
  };
  assert.throws(() => roundTrip(list, () => "devices"), /devices\[0\]\.udpPort is not an integer/);
});

Deno.test("encodeResponse gives the bytes of encodeMessage, with encoded fields spliced in", () => {
  const fields = { op: "SUM", result: "42" };
  assert.deepEqual(
    encodeResponse(3, fields),
    encodeMessage({ t: "res", id: 3, ok: true, ...fields } as Message),
  );
  const listing = [
    { name: "a", since: "1 May 2026 10:00:00", ip: "127.0.0.1", udpPort: 6000 },
    { name: 'b"c', since: "1 May 2026 10:00:01", ip: "::1", udpPort: 6001 },
  ];
  const devices = new EncodedJson<typeof listing>(JSON.stringify(listing));
  const withList = { devices };
  const frame = [...new FrameDecoder().frames(encodeResponse(4, withList))][0];
  assert.ok(frame?.kind === "message");
  assert.deepEqual(decodeMessage(frame.body, () => "devices"), {
    t: "res",
    id: 4,
    ok: true,
    devices: listing,
  });
  assert.equal(withList.devices, devices, "the caller's fields are left alone");
});

Deno.test("error responses and pushes round-trip", () => {
  const messages: Message[] = [
    { t: "res", id: 1, ok: false, error: "not_found", message: "no file 3 on the server" },
    { t: "push", event: "presence", device: "a", state: "online" },
    { t: "push", event: "message", from: "a", text: "hi", kind: "direct" },
    { t: "push", event: "logout", reason: "idle", message: "idle for 10 s" },
  ];
  for (const m of messages) assert.deepEqual(roundTrip(m), m);
});

Deno.test("decoder rejects malformed messages with a ProtocolError", () => {
  const cases: [string, RegExp][] = [
    ["not json", /not valid UTF-8 JSON/],
    ["[1,2]", /not a JSON object/],
    ["null", /not a JSON object/],
    ['{"t":"zzz"}', /unknown message type/],
    ['{"t":"req","op":"devices"}', /message id/],
    ['{"t":"req","id":-1,"op":"devices"}', /message id/],
    ['{"t":"req","id":1.5,"op":"devices"}', /message id/],
    ['{"t":"req","id":1,"op":"__proto__"}', /unknown request op/],
    ['{"t":"req","id":1,"op":"toString"}', /unknown request op/],
    ['{"t":"req","id":1,"op":"login","name":"a"}', /password is missing/],
    ['{"t":"req","id":1,"op":"upload","fileID":"1","bytes":2}', /fileID is not an integer/],
    ['{"t":"req","id":1,"op":"upload","fileID":1e300,"bytes":2}', /fileID is not an integer/],
    ['{"t":"res","id":1,"ok":false,"error":"nope","message":"x"}', /unknown error code/],
    ['{"t":"res","id":1,"ok":false,"error":"io"}', /no message/],
    ['{"t":"res","id":1}', /no boolean ok/],
    ['{"t":"push","event":"presence","device":1,"state":"online"}', /device is not a string/],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(() => decodeMessage(body(text)), (e: unknown) => {
      assert.ok(e instanceof ProtocolError, text);
      assert.match(e.message, pattern, text);
      return true;
    });
  }
  assert.throws(() => decodeMessage(new Uint8Array([0x7b, 0xff, 0x7d])), /UTF-8/);
});

Deno.test("literal fields of the tables refuse values outside their unions", () => {
  const cases: [string, RegExp][] = [
    [
      '{"t":"req","id":1,"op":"compute","fileID":1,"operation":"MEDIAN"}',
      /operation is not one of SUM, AVERAGE, MAX, MIN/,
    ],
    ['{"t":"req","id":1,"op":"compute","fileID":1,"operation":"sum"}', /operation is not one of/],
    [
      '{"t":"push","event":"presence","device":"a","state":"away"}',
      /state is not one of online, offline/,
    ],
    [
      '{"t":"push","event":"message","from":"a","text":"hi","kind":"shout"}',
      /kind is not one of direct, broadcast, offline/,
    ],
    ['{"t":"push","event":"message","from":"a","text":"hi"}', /kind is missing/],
    [
      '{"t":"push","event":"message","from":"a","text":"hi","kind":"offline"}',
      /push message: id is missing/,
    ],
    ['{"t":"push","event":"private","device":"a","state":"ended"}', /reason is missing/],
    [
      '{"t":"push","event":"private","device":"a","state":"ended","reason":"bored"}',
      /reason is not one of stopped, left, blocked/,
    ],
    [
      '{"t":"push","event":"private","device":"a","state":"declined","reason":"left"}',
      /reason is not one of blocked/,
    ],
    [
      '{"t":"push","event":"private","device":"a","state":"paused"}',
      /state is not one of requested, accepted, declined, ended/,
    ],
    [
      '{"t":"push","event":"logout","reason":"bored","message":"x"}',
      /reason is not one of login_timeout/,
    ],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(() => decodeMessage(body(text)), (e: unknown) => {
      assert.ok(e instanceof ProtocolError, text);
      assert.match(e.message, pattern, text);
      return true;
    });
  }
  const results: [string, Parameters<typeof decodeMessage>[1], RegExp][] = [
    [
      '{"t":"res","id":1,"ok":true,"delivery":"lost"}',
      () => "message",
      /delivery is not one of online, stored/,
    ],
    [
      '{"t":"res","id":1,"ok":true,"op":"MEDIAN","result":"1"}',
      () => "compute",
      /op is not one of/,
    ],
    [
      '{"t":"res","id":1,"ok":true,"ip":"::1","udpPort":1,"mac":"00","ticket":{"kind":"chat","from":"a"}}',
      () => "uvf",
      /result of uvf: ticket\.kind is not one of file/,
    ],
    [
      '{"t":"res","id":1,"ok":true,"ip":"::1","udpPort":1,"mac":"00","ticket":{"kind":"file","from":"a"}}',
      () => "uvf",
      /ticket\.transferId is missing/,
    ],
  ];
  for (const [text, opOf, pattern] of results) {
    assert.throws(() => decodeMessage(body(text), opOf), pattern, text);
  }
});

Deno.test("every variant of a discriminated push round-trips with its own fields", () => {
  const pushes: Message[] = [
    { t: "push", event: "message", from: "a", text: "hi", kind: "broadcast" },
    { t: "push", event: "message", from: "a", text: "hi", kind: "offline", id: 7, sentAt: 1 },
    { t: "push", event: "private", device: "a", state: "requested" },
    { t: "push", event: "private", device: "a", state: "declined" },
    { t: "push", event: "private", device: "a", state: "declined", reason: "blocked" },
    { t: "push", event: "private", device: "a", state: "ended", reason: "left" },
  ];
  for (const m of pushes) assert.deepEqual(roundTrip(m), m);
});
