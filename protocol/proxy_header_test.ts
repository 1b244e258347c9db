import assert from "node:assert/strict";
import { MAX_PROXY_HEADER_BYTES } from "./limits.ts";
import {
  decodeProxyHeader,
  encodeProxyHeader,
  type ProxyHeader,
  type ProxyHeaderDecoding,
  type ProxyHeaderProblem,
  type ProxyTlv,
} from "./proxy_header.ts";

/** Bytes from hex text; spaces ignored. */
function bytes(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g)!.map((h) => parseInt(h, 16)));
}

const SIGNATURE = "0d0a0d0a000d0a515549540a";

function assertInvalid(
  decoded: ProxyHeaderDecoding,
  problem: ProxyHeaderProblem,
  message: RegExp,
): void {
  assert.equal(decoded.status, "invalid", JSON.stringify(decoded));
  if (decoded.status !== "invalid") return;
  assert.equal(decoded.problem, problem);
  assert.match(decoded.message, message);
}

Deno.test("PROXY v2: a TCP over IPv4 header written by hand from the specification", () => {
  const header = bytes(
    `${SIGNATURE} 21 11 000c  c0000201 0a000002  c738 1b58`,
  );
  assert.deepEqual(decodeProxyHeader(header), {
    status: "complete",
    header: {
      kind: "tcp4",
      source: { address: "192.0.2.1", port: 51000 },
      destination: { address: "10.0.0.2", port: 7000 },
    },
    length: 28,
  });
  assert.deepEqual(
    encodeProxyHeader({
      kind: "tcp4",
      source: { address: "192.0.2.1", port: 51000 },
      destination: { address: "10.0.0.2", port: 7000 },
    }),
    header,
  );
});

Deno.test("PROXY v2: what follows the header is the client's and is not consumed", () => {
  const header = encodeProxyHeader({
    kind: "tcp4",
    source: { address: "198.51.100.9", port: 1 },
    destination: { address: "127.0.0.1", port: 2 },
  });
  const decoded = decodeProxyHeader(Uint8Array.of(...header, 0x16, 0x03, 0x01));
  assert.equal(decoded.status === "complete" && decoded.length, header.length);
});

Deno.test("PROXY v2: IPv6 addresses come out in RFC 5952 form", () => {
  const cases: [string, string][] = [
    ["20010db8000000000000000000000001", "2001:db8::1"],
    ["00000000000000000000000000000001", "::1"],
    ["00000000000000000000000000000000", "::"],
    ["00010000000000000000000000000000", "1::"],
    // A single zero group is not compressed; the first of two equal runs is.
    ["00010000000200030004000500060007", "1:0:2:3:4:5:6:7"],
    ["00010000000000020000000000030004", "1::2:0:0:3:4"],
    ["00010000000000020000000000000003", "1:0:0:2::3"],
    ["00010000000200000000000000000003", "1:0:2::3"],
    ["FE800000000000000000ABCDEF000001", "fe80::abcd:ef00:1"],
    // IPv4-mapped: the device's IPv4 address.
    ["00000000000000000000ffffcb007107", "203.0.113.7"],
  ];
  for (const [hex, text] of cases) {
    const header = bytes(`${SIGNATURE} 21 21 0024 ${hex} ${"0".repeat(32)} 0050 1b58`);
    const decoded = decodeProxyHeader(header);
    assert.equal(decoded.status, "complete", hex);
    if (decoded.status !== "complete" || decoded.header.kind !== "tcp6") continue;
    assert.equal(decoded.header.source.address, text, hex);
    assert.deepEqual(decoded.header.destination, { address: "::", port: 7000 });
    assert.equal(decoded.header.source.port, 80);
    // The text encodes back to the same bytes.
    assert.deepEqual(encodeProxyHeader(decoded.header), header, hex);
  }
});

Deno.test("PROXY v2: LOCAL (a balancer's health check) ignores the family and the block", () => {
  // Family and transport bytes that a PROXY command would be refused for, and 5 bytes
  // that are not TLVs: LOCAL discards them all.
  const decoded = decodeProxyHeader(bytes(`${SIGNATURE} 20 ff 0005 0102030405 99`));
  assert.deepEqual(decoded, { status: "complete", header: { kind: "local" }, length: 21 });
  assert.deepEqual(decodeProxyHeader(encodeProxyHeader({ kind: "local" })), {
    status: "complete",
    header: { kind: "local" },
    length: 16,
  });
});

Deno.test("PROXY v2: PROXY with AF_UNSPEC is accepted without addresses", () => {
  assert.deepEqual(decodeProxyHeader(bytes(`${SIGNATURE} 21 00 0000`)), {
    status: "complete",
    header: { kind: "unspec" },
    length: 16,
  });
});

Deno.test("PROXY v2: TLVs after the addresses are skipped", () => {
  const address = {
    kind: "tcp4",
    source: { address: "203.0.113.7", port: 40000 },
    destination: { address: "10.0.0.2", port: 7000 },
  } as const;
  const header = encodeProxyHeader(address, [
    { type: 0x05, value: new TextEncoder().encode("unique-id-1") }, // PP2_TYPE_UNIQUE_ID
    { type: 0x04, value: new Uint8Array(0) }, // PP2_TYPE_NOOP, empty
    { type: 0x20, value: new Uint8Array(300) }, // PP2_TYPE_SSL
  ]);
  assert.equal(header.length, 28 + 3 + 11 + 3 + 3 + 300);
  assert.deepEqual(decodeProxyHeader(header), {
    status: "complete",
    header: address,
    length: header.length,
  });
});

Deno.test("PROXY v2: every strict prefix of a header is incomplete", () => {
  const header = encodeProxyHeader({
    kind: "tcp6",
    source: { address: "2001:db8::7", port: 1234 },
    destination: { address: "2001:db8::2", port: 7000 },
  }, [{ type: 1, value: new TextEncoder().encode("iotnet/1") }]);
  for (let n = 0; n < header.length; n++) {
    assert.deepEqual(decodeProxyHeader(header.subarray(0, n)), { status: "incomplete" }, `${n}`);
  }
});

Deno.test("PROXY v2: a connection that starts with anything else is refused at once", () => {
  // A device reaching the port directly: an iotnet frame (u32 length, kind 0x01, JSON).
  const frame = bytes("0000003a 01 7b22");
  assertInvalid(
    decodeProxyHeader(frame),
    "not_proxy",
    /began with 00 00 00 3a 01 7b 22 \(an iotnet frame: the device reached this port without the balancer\)/,
  );
  // A TLS client reaching it directly: refused at its first byte.
  assertInvalid(decodeProxyHeader(Uint8Array.of(0x16)), "not_proxy", /began with 16 \(a TLS/);
  assertInvalid(
    decodeProxyHeader(new TextEncoder().encode("GET / HTTP/1.1\r\n")),
    "not_proxy",
    /began with 47 45 54 20 2f 20 48 54 \.\.\.$/,
  );
  // The signature wrong in its last byte.
  assertInvalid(decodeProxyHeader(bytes("0d0a0d0a000d0a515549540b")), "not_proxy", /0d 0a/);
});

Deno.test("PROXY v1 (text) is recognised and refused with a message naming send-proxy-v2", () => {
  const v1 = new TextEncoder().encode("PROXY TCP4 192.0.2.1 10.0.0.2 51000 7000\r\n");
  assertInvalid(decodeProxyHeader(v1), "v1", /version 1 \(text\).*send-proxy-v2/);
  // Until "PROXY " is whole it may still be v1.
  assert.deepEqual(decodeProxyHeader(v1.subarray(0, 5)), { status: "incomplete" });
  assertInvalid(decodeProxyHeader(v1.subarray(0, 6)), "v1", /version 1/);
  assertInvalid(decodeProxyHeader(new TextEncoder().encode("PROXZ")), "not_proxy", /50 52 4f/);
});

Deno.test("PROXY v2: each malformed field has its own problem and message", () => {
  const addresses = "c0000201 0a000002 c738 1b58";
  const cases: [string, ProxyHeaderProblem, RegExp][] = [
    [`${SIGNATURE} 11`, "version", /version 1 in a PROXY v2 signature \(byte 13 is 0x11\)/],
    [`${SIGNATURE} 31`, "version", /version 3/],
    [`${SIGNATURE} 22`, "command", /command 2 is neither LOCAL \(0\) nor PROXY \(1\)/],
    [`${SIGNATURE} 2f`, "command", /command 15/],
    [`${SIGNATURE} 21 31 00d8`, "family", /a UNIX socket address \(byte 14 is 0x31\)/],
    [`${SIGNATURE} 21 41 000c ${addresses}`, "family", /address family 4 is not defined/],
    [`${SIGNATURE} 21 12 000c ${addresses}`, "transport", /transport UDP with an IP address/],
    [`${SIGNATURE} 21 10 000c ${addresses}`, "transport", /transport UNSPEC with an IP/],
    [`${SIGNATURE} 21 13 000c ${addresses}`, "transport", /transport 3 is not defined/],
    [
      `${SIGNATURE} 21 11 000b ${addresses}`,
      "length",
      /declares 11 bytes.*too few for the 12 bytes of IPv4/,
    ],
    [`${SIGNATURE} 21 21 0023`, "length", /declares 35 bytes.*36 bytes of IPv6/],
    [`${SIGNATURE} 21 11 000e ${addresses} 0102`, "tlv", /2 bytes after the last TLV, too few/],
    [
      `${SIGNATURE} 21 11 0010 ${addresses} 05 0002 aa`,
      "tlv",
      /TLV type 0x05 declares 2 bytes, 1 are left/,
    ],
  ];
  for (const [hex, problem, message] of cases) {
    assertInvalid(decodeProxyHeader(bytes(hex)), problem, message);
  }
});

Deno.test("PROXY v2: a length over the limit is refused from the first 16 bytes", () => {
  const over = MAX_PROXY_HEADER_BYTES - 16 + 1;
  const fixed = bytes(`${SIGNATURE} 21 11 ${over.toString(16).padStart(4, "0")}`);
  assertInvalid(
    decodeProxyHeader(fixed),
    "length",
    new RegExp(
      `declares ${over} bytes after its first 16, ${
        MAX_PROXY_HEADER_BYTES + 1
      } in all; at most ${MAX_PROXY_HEADER_BYTES}`,
    ),
  );
  // At the limit it waits for the rest; LOCAL is bounded the same way.
  const atLimit = bytes(`${SIGNATURE} 21 11 ${(over - 1).toString(16).padStart(4, "0")}`);
  assert.deepEqual(decodeProxyHeader(atLimit), { status: "incomplete" });
  assertInvalid(decodeProxyHeader(bytes(`${SIGNATURE} 20 00 ffff`)), "length", /65535 bytes/);
  // The limit is a parameter.
  assertInvalid(decodeProxyHeader(bytes(`${SIGNATURE} 21 11 000c`), 27), "length", /at most 27/);
});

Deno.test("PROXY v2 encoder: refuses addresses, ports and TLVs it cannot write", () => {
  const at = (kind: "tcp4" | "tcp6", address: string, port = 1): ProxyHeader => ({
    kind,
    source: { address, port },
    destination: { address: kind === "tcp4" ? "192.0.2.1" : "::", port: 1 },
  });
  const cases: [ProxyHeader, ProxyTlv[], string][] = [
    [at("tcp4", "::1"), [], '"::1" is not an IPv4 address'],
    [at("tcp4", "1.2.3.256"), [], '"1.2.3.256" is not an IPv4 address'],
    [at("tcp6", "1::2::3"), [], '"1::2::3" is not an IPv6 address'],
    [at("tcp6", "1:2:3:4:5:6:7"), [], '"1:2:3:4:5:6:7" is not an IPv6 address'],
    [at("tcp4", "1.2.3.4", 65536), [], "port must be an integer 0..65535, not 65536"],
    [
      { kind: "local" },
      [{ type: 256, value: new Uint8Array() }],
      "TLV type must be an integer 0..255, not 256",
    ],
    [
      { kind: "local" },
      [{ type: 1, value: new Uint8Array(0xffff) }],
      "the header's variable part of 65538 bytes is over 65,535",
    ],
  ];
  for (const [header, tlvs, message] of cases) {
    assert.throws(() => encodeProxyHeader(header, tlvs), { name: "RangeError", message });
  }
});
