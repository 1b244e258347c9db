/**
 * The ClientHello check: fixed vectors for each verdict, then properties (fast-check) over
 * generated ClientHellos cut into records at random: the verdict follows
 * `supported_versions` whatever the cut, every prefix is "incomplete", trailing bytes
 * change nothing, and random or mutated input never throws. Set `FUZZ_SEED` to replay a
 * run. Real ClientHellos from openssl and rustls are checked in `tests/tls13_only_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  checkClientHello,
  encodeTlsAlert,
  MAX_CLIENT_HELLO_BYTES,
  MAX_RECORD_FRAGMENT_BYTES,
  TLS13_VERSION,
  TLS_ALERT,
} from "./client_hello.ts";
import {
  ALPN_IOTNET,
  clientHello,
  concat,
  type HelloSpec,
  records,
  SUPPORTED_VERSIONS,
} from "./_client_hello_fixture.ts";

const seed = Deno.env.get("FUZZ_SEED");
const fuzz = seed ? { seed: Number(seed) } : {};

Deno.test("a ClientHello listing TLS 1.3 in supported_versions passes", () => {
  const stream = records(clientHello({ versions: [0x0304, 0x0303], extensions: [ALPN_IOTNET] }));
  assert.deepEqual(checkClientHello(stream), { kind: "tls13" });
});

Deno.test("a ClientHello without supported_versions is refused with protocol_version", () => {
  const check = checkClientHello(records(clientHello({ extensions: [ALPN_IOTNET] })));
  assert.equal(check.kind, "refused");
  assert.equal(check.kind === "refused" && check.alert, TLS_ALERT.protocol_version);
  assert.match(
    check.kind === "refused" ? check.reason : "",
    /does not offer TLS 1\.3 \(it has no supported_versions extension\); the server speaks TLS 1\.3 only/,
  );
});

Deno.test("a ClientHello with no extensions at all is refused with protocol_version", () => {
  const check = checkClientHello(records(clientHello({})));
  assert.equal(check.kind === "refused" && check.alert, TLS_ALERT.protocol_version);
  assert.match(check.kind === "refused" ? check.reason : "", /it has no extensions/);
});

Deno.test("supported_versions without 0x0304 is refused, naming what it lists", () => {
  const check = checkClientHello(records(clientHello({ versions: [0x0303, 0x0302, 0x7a7a] })));
  assert.equal(check.kind === "refused" && check.alert, TLS_ALERT.protocol_version);
  assert.match(
    check.kind === "refused" ? check.reason : "",
    /supported_versions lists TLS 1\.2, TLS 1\.1, 0x7a7a\)/,
  );
});

Deno.test("a repeated extension is refused, even supported_versions offering 1.3", () => {
  const twice = clientHello({
    versions: [0x0303],
    extensions: [[SUPPORTED_VERSIONS, new Uint8Array([2, 3, 4])]],
  });
  const check = checkClientHello(records(twice));
  assert.equal(check.kind === "refused" && check.alert, TLS_ALERT.decode_error);
  assert.match(check.kind === "refused" ? check.reason : "", /extension 43 appears twice/);
});

Deno.test("a malformed supported_versions is refused with decode_error", () => {
  for (const body of [[], [3, 3, 4, 3], [2, 3], [0], [4, 3, 4]]) {
    const hello = clientHello({ extensions: [[SUPPORTED_VERSIONS, new Uint8Array(body)]] });
    const check = checkClientHello(records(hello));
    assert.equal(check.kind === "refused" && check.alert, TLS_ALERT.decode_error, `${body}`);
  }
});

Deno.test("fixed fields out of range are refused with decode_error", () => {
  for (const spec of [{ sessionIdBytes: 33 }, { suites: [] }]) {
    const check = checkClientHello(records(clientHello({ ...spec, versions: [TLS13_VERSION] })));
    assert.equal(check.kind === "refused" && check.alert, TLS_ALERT.decode_error);
  }
});

Deno.test("a ClientHello cut over several records passes once the last one is in", () => {
  const message = clientHello({ versions: [TLS13_VERSION], extensions: [ALPN_IOTNET] });
  const stream = records(message, [1, 2, 3, 50]);
  for (let n = 0; n < stream.length; n++) {
    assert.equal(checkClientHello(stream.subarray(0, n)).kind, "incomplete", `at ${n}`);
  }
  assert.deepEqual(checkClientHello(stream), { kind: "tls13" });
});

Deno.test("what does not start with a handshake record is not TLS", () => {
  // An iotnet frame (length prefix), HTTP, an SSLv2-format hello, an alert first.
  for (
    const first of [[0, 0, 0, 12], [0x47, 0x45, 0x54], [0x80, 0x2e, 0x01], [21, 3, 3, 0, 2]]
  ) {
    const check = checkClientHello(new Uint8Array(first));
    assert.equal(check.kind, "refused");
    assert.equal(check.kind === "refused" && check.notTls, true);
    assert.match(check.kind === "refused" ? check.reason : "", /does not speak TLS/);
  }
});

Deno.test("another content type between the ClientHello's records is refused", () => {
  const message = clientHello({ versions: [TLS13_VERSION] });
  const first = records(message.subarray(0, 10));
  const alert = new Uint8Array([21, 3, 3, 0, 2, 1, 0]);
  const check = checkClientHello(concat([first, alert, records(message.subarray(10))]));
  assert.equal(check.kind === "refused" && check.alert, TLS_ALERT.unexpected_message);
  assert.equal(check.kind === "refused" && check.notTls, undefined);
});

Deno.test("another handshake message first, an empty or oversized record are refused", () => {
  const serverHello = new Uint8Array([2, 0, 0, 2, 3, 3]);
  assert.equal(
    (checkClientHello(records(serverHello)) as { alert: number }).alert,
    TLS_ALERT.unexpected_message,
  );
  assert.equal(
    (checkClientHello(new Uint8Array([22, 3, 1, 0, 0])) as { alert: number }).alert,
    TLS_ALERT.decode_error,
  );
  const big = MAX_RECORD_FRAGMENT_BYTES + 1;
  assert.equal(
    (checkClientHello(new Uint8Array([22, 3, 1, big >> 8, big & 0xff])) as { alert: number })
      .alert,
    TLS_ALERT.record_overflow,
  );
});

Deno.test("a ClientHello over MAX_CLIENT_HELLO_BYTES is refused before it has all arrived", () => {
  // Declared in its handshake header: known from the first record.
  const declared = new Uint8Array([22, 3, 1, 0, 4, 1, 0, 0x40, 0x00]);
  const check = checkClientHello(declared);
  assert.equal(check.kind === "refused" && check.alert, TLS_ALERT.handshake_failure);
  assert.match(check.kind === "refused" ? check.reason : "", /over 16384 bytes/);
  // Real, padded just over the bound: refused, and just under: passes.
  const padded = (n: number) =>
    records(
      clientHello({ versions: [TLS13_VERSION], extensions: [[21, new Uint8Array(n)]] }),
      [8000, 8000],
    );
  const overhead = padded(16_000).length - 16_000; // three records at these sizes
  assert.equal(padded(MAX_CLIENT_HELLO_BYTES - overhead).length, MAX_CLIENT_HELLO_BYTES);
  assert.deepEqual(checkClientHello(padded(MAX_CLIENT_HELLO_BYTES - overhead)), {
    kind: "tls13",
  });
  assert.equal(checkClientHello(padded(MAX_CLIENT_HELLO_BYTES - overhead + 1)).kind, "refused");
});

Deno.test("the alert record is a fatal alert of TLS 1.2's record version", () => {
  assert.deepEqual(
    encodeTlsAlert(TLS_ALERT.protocol_version),
    new Uint8Array([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 70]),
  );
});

// Properties.

const version = fc.oneof(
  fc.constantFrom(0x0300, 0x0301, 0x0302, 0x0303, 0x0304),
  fc.integer({ min: 0, max: 15 }).map((n) => (n << 12) | 0x0a00 | (n << 4) | 0x0a), // GREASE
);
const otherExtensions = fc.uniqueArray(
  fc.tuple(
    fc.integer({ min: 0, max: 0xffff }).filter((t) => t !== SUPPORTED_VERSIONS),
    fc.uint8Array({ maxLength: 64 }),
  ),
  { selector: ([type]) => type, maxLength: 8 },
);
const hello = fc.record({
  versions: fc.option(fc.array(version, { minLength: 1, maxLength: 6 }), { nil: undefined }),
  extensions: otherExtensions,
  sessionIdBytes: fc.integer({ min: 0, max: 32 }),
  suites: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 20 }),
}).map((spec): HelloSpec => {
  const { versions, ...rest } = spec;
  return versions === undefined ? rest : { ...rest, versions };
});
const cuts = fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 6 });

Deno.test("property: the verdict follows supported_versions, however the records are cut", () => {
  fc.assert(
    fc.property(hello, cuts, (spec, sizes) => {
      const check = checkClientHello(records(clientHello(spec), sizes));
      if (spec.versions?.includes(TLS13_VERSION)) {
        assert.deepEqual(check, { kind: "tls13" });
      } else {
        assert.equal(check.kind === "refused" && check.alert, TLS_ALERT.protocol_version);
      }
    }),
    { numRuns: 3_000, ...fuzz },
  );
});

Deno.test("property: every prefix of a ClientHello is incomplete", () => {
  fc.assert(
    fc.property(hello, cuts, fc.nat(), (spec, sizes, at) => {
      const stream = records(clientHello(spec), sizes);
      const n = at % stream.length;
      assert.deepEqual(checkClientHello(stream.subarray(0, n)), {
        kind: "incomplete",
        received: n,
      });
    }),
    { numRuns: 3_000, ...fuzz },
  );
});

Deno.test("property: bytes after the ClientHello do not change the verdict", () => {
  fc.assert(
    fc.property(hello, cuts, fc.uint8Array({ minLength: 1, maxLength: 200 }), (spec, s, tail) => {
      const stream = records(clientHello(spec), s);
      assert.deepEqual(checkClientHello(concat([stream, tail])), checkClientHello(stream));
    }),
    { numRuns: 2_000, ...fuzz },
  );
});

Deno.test("property: random bytes never throw and never pass without a handshake record", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      const check = checkClientHello(bytes);
      assert.ok(["incomplete", "tls13", "refused"].includes(check.kind));
      if (check.kind === "tls13") assert.equal(bytes[0], 22);
    }),
    { numRuns: 20_000, ...fuzz },
  );
});

const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
  minLength: 1,
  maxLength: 4,
});

Deno.test("property: an edited ClientHello never throws, and passes only offering 0x0304", () => {
  fc.assert(
    fc.property(hello, cuts, edits, (spec, sizes, changes) => {
      const message = clientHello(spec);
      for (const [at, value] of changes) message[at % message.length] = value;
      const check = checkClientHello(records(message, sizes));
      assert.ok(["incomplete", "tls13", "refused"].includes(check.kind));
      if (check.kind === "tls13") {
        assert.ok(message.some((b, i) => b === 3 && message[i + 1] === 4), "no 0x0304");
      }
    }),
    { numRuns: 20_000, ...fuzz },
  );
});

Deno.test("property: edited records never throw", () => {
  fc.assert(
    fc.property(hello, cuts, edits, (spec, sizes, changes) => {
      const stream = records(clientHello(spec), sizes);
      for (const [at, value] of changes) stream[at % stream.length] = value;
      assert.ok(["incomplete", "tls13", "refused"].includes(checkClientHello(stream).kind));
    }),
    { numRuns: 20_000, ...fuzz },
  );
});
