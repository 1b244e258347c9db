import assert from "node:assert/strict";
import fc from "fast-check";
import { ipAddressBytes } from "./ip_address.ts";

const seed = Deno.env.get("FUZZ_SEED");
const fuzz = seed ? { seed: Number(seed) } : {};

function hex(bytes: Uint8Array | undefined): string | undefined {
  return bytes && Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("IPv4 and IPv6 addresses in their written forms give their bytes", () => {
  const cases: [string, string][] = [
    ["127.0.0.1", "7f000001"],
    ["0.0.0.0", "00000000"],
    ["255.255.255.255", "ffffffff"],
    ["::", "0".repeat(32)],
    ["::1", "0".repeat(31) + "1"],
    ["::ffff:127.0.0.1", "00000000000000000000ffff7f000001"],
    ["2001:db8::8a2e:370:7334", "20010db8000000000000" + "8a2e03707334"],
    ["2001:DB8:0:0:0:0:0:1", "20010db8000000000000000000000001"],
    ["fe80::1%eth0", "fe800000000000000000000000000001"],
    ["1::", "0001" + "0".repeat(28)],
    ["::1.2.3.4", "00000000000000000000000001020304"],
    ["1:2:3:4:5:6:7:8", "00010002000300040005000600070008"],
    ["1:2:3:4:5:6:1.2.3.4", "00010002000300040005000601020304"],
  ];
  for (const [text, bytes] of cases) assert.equal(hex(ipAddressBytes(text)), bytes, text);
});

Deno.test("what is not an address gives undefined", () => {
  for (
    const text of [
      "",
      "localhost",
      "1.2.3",
      "1.2.3.4.5",
      "256.0.0.1",
      "01.2.3.4",
      "1.2.3.-4",
      ":::",
      "1::2::3",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7::8",
      "12345::",
      "g::",
      "::1.2.3",
      "1.2.3.4::",
      "1:2:3:4:5:6:7:1.2.3.4",
    ]
  ) {
    assert.equal(ipAddressBytes(text), undefined, text);
  }
});

Deno.test("property: any 16 bytes come back from their full and their shortest text", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
      const full = Array.from(
        { length: 8 },
        (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16),
      ).join(":");
      // The URL parser writes the shortest form (RFC 5952), as Deno's addresses are.
      const shortest = new URL(`http://[${full}]/`).hostname.slice(1, -1);
      assert.equal(hex(ipAddressBytes(full)), hex(bytes));
      assert.equal(hex(ipAddressBytes(shortest)), hex(bytes), shortest);
    }),
    { numRuns: 5_000, ...fuzz },
  );
});

Deno.test("property: any 4 bytes come back from their dotted text, alone and IPv4-mapped", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) => {
      const dotted = bytes.join(".");
      assert.equal(hex(ipAddressBytes(dotted)), hex(bytes));
      assert.equal(
        hex(ipAddressBytes(`::ffff:${dotted}`)),
        "00000000000000000000ffff" + hex(bytes),
      );
    }),
    { numRuns: 2_000, ...fuzz },
  );
});
