import assert from "node:assert/strict";
import { type Aead, AEAD_TAG_BYTES, NUMBERED_AAD_BYTES, openAead } from "./aead.ts";

function hex(s: string): Uint8Array {
  const clean = s.replace(/[^0-9a-f]/gi, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

// RFC 8439 §2.8.2: the AEAD construction's example.
const RFC8439_282 = {
  key: hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
  nonce: hex("070000004041424344454647"),
  aad: hex("50515253c0c1c2c3c4c5c6c7"),
  plaintext: new TextEncoder().encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  ),
  ciphertext: hex(`
    d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
    3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
    92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
    3ff4def08e4b7a9de576d26586cec64b6116`),
  tag: hex("1ae10b594f09e26a7e902ecbd0600691"),
};

/** The implementations this process can run: node always, libcrypto with FFI on Linux. */
function implementations(): Aead[] {
  const all = [openAead("node")];
  const auto = openAead("auto");
  if (auto.kind === "libcrypto") all.push(auto);
  else auto.close();
  return all;
}

Deno.test("aead: libcrypto is picked when FFI is granted (the tests run with -A on Linux)", () => {
  const aead = openAead("auto");
  try {
    assert.equal(aead.kind, Deno.build.os === "linux" ? "libcrypto" : "node");
  } finally {
    aead.close();
  }
});

Deno.test("aead: RFC 8439 §2.8.2 vector seals and opens in every implementation", () => {
  const v = RFC8439_282;
  for (const aead of implementations()) {
    try {
      const out = new Uint8Array(v.plaintext.length + AEAD_TAG_BYTES);
      aead.seal(v.key, v.nonce, v.aad, v.plaintext, out);
      assert.deepEqual(out.subarray(0, v.plaintext.length), v.ciphertext, aead.kind);
      assert.deepEqual(out.subarray(v.plaintext.length), v.tag, aead.kind);
      const back = new Uint8Array(v.plaintext.length);
      assert.equal(aead.open(v.key, v.nonce, v.aad, out, back), true, aead.kind);
      assert.deepEqual(back, v.plaintext, aead.kind);
    } finally {
      aead.close();
    }
  }
});

Deno.test("aead: an edited ciphertext, tag, aad, nonce or key does not open", () => {
  const v = RFC8439_282;
  for (const aead of implementations()) {
    try {
      const sealed = new Uint8Array(v.plaintext.length + AEAD_TAG_BYTES);
      aead.seal(v.key, v.nonce, v.aad, v.plaintext, sealed);
      const out = new Uint8Array(v.plaintext.length);
      for (const at of [0, 57, v.plaintext.length - 1, v.plaintext.length, sealed.length - 1]) {
        const edited = sealed.slice();
        edited[at]! ^= 1;
        assert.equal(aead.open(v.key, v.nonce, v.aad, edited, out), false, `${aead.kind} @${at}`);
      }
      const flip = (b: Uint8Array) => {
        const c = b.slice();
        c[0]! ^= 0x80;
        return c;
      };
      assert.equal(aead.open(v.key, v.nonce, flip(v.aad), sealed, out), false);
      assert.equal(aead.open(v.key, flip(v.nonce), v.aad, sealed, out), false);
      assert.equal(aead.open(flip(v.key), v.nonce, v.aad, sealed, out), false);
      assert.equal(aead.open(v.key, v.nonce, v.aad, sealed.subarray(0, 15), out), false);
    } finally {
      aead.close();
    }
  }
});

/**
 * Runs `compare` with libcrypto and node:crypto, closing both after; nothing to compare
 * where libcrypto is not available (the kind test above says which).
 */
function compareLibcryptoWithNode(compare: (auto: Aead, node: Aead) => void): void {
  const auto = openAead("auto");
  if (auto.kind !== "libcrypto") {
    auto.close();
    return;
  }
  const node = openAead("node");
  try {
    compare(auto, node);
  } finally {
    auto.close();
    node.close();
  }
}

Deno.test("aead: libcrypto and node:crypto give identical bytes, in place too", () => {
  compareLibcryptoWithNode((auto, node) => {
    for (const length of [0, 1, 15, 16, 17, 63, 64, 65, 1400, 1428]) {
      const key = crypto.getRandomValues(new Uint8Array(32));
      const nonce = crypto.getRandomValues(new Uint8Array(12));
      const aad = crypto.getRandomValues(new Uint8Array(length % 29));
      const plaintext = crypto.getRandomValues(new Uint8Array(length));
      const a = new Uint8Array(length + AEAD_TAG_BYTES);
      const b = new Uint8Array(length + AEAD_TAG_BYTES);
      auto.seal(key, nonce, aad, plaintext, a);
      node.seal(key, nonce, aad, plaintext, b);
      assert.deepEqual(a, b, `length ${length}`);
      // In place: the buffer holds the plaintext, then the sealed bytes, then it again.
      const inPlace = new Uint8Array(length + AEAD_TAG_BYTES);
      inPlace.set(plaintext);
      auto.seal(key, nonce, aad, inPlace.subarray(0, length), inPlace);
      assert.deepEqual(inPlace, a);
      assert.equal(node.open(key, nonce, aad, inPlace, inPlace), true);
      assert.deepEqual(inPlace.subarray(0, length), plaintext);
      const sealedAgain = a.slice();
      assert.equal(auto.open(key, nonce, aad, sealedAgain, sealedAgain), true);
      assert.deepEqual(sealedAgain.subarray(0, length), plaintext);
    }
  });
});

Deno.test("aead: one AEAD switching keys (and a key edited in place) agrees with node:crypto", () => {
  // libcrypto keeps a context keyed between calls: a changed key must re-key it, also
  // when the new key is the same array with other bytes, and a failed open must not
  // spoil the next one.
  const auto = openAead("auto");
  const node = openAead("node");
  try {
    const keys = [0, 1, 2].map(() => crypto.getRandomValues(new Uint8Array(32)));
    const edited = keys[0]!.slice();
    const nonce = new Uint8Array(12);
    const aad = crypto.getRandomValues(new Uint8Array(28));
    const plaintext = crypto.getRandomValues(new Uint8Array(1400));
    for (let i = 0; i < 24; i++) {
      nonce[11] = i >> 2;
      let key = keys[i % 3]!;
      if (i % 5 === 4) {
        edited[i % 32]! ^= 1;
        key = edited;
      }
      const a = new Uint8Array(1400 + AEAD_TAG_BYTES);
      const b = new Uint8Array(1400 + AEAD_TAG_BYTES);
      auto.seal(key, nonce, aad, plaintext, a);
      node.seal(key, nonce, aad, plaintext, b);
      assert.deepEqual(a, b, `seal ${i}`);
      const forged = a.slice();
      forged[i]! ^= 1;
      assert.equal(auto.open(key, nonce, aad, forged, forged), false, `forged ${i}`);
      const back = new Uint8Array(1400);
      assert.equal(auto.open(key, nonce, aad, a, back), true, `open ${i}`);
      assert.deepEqual(back, plaintext, `open ${i}`);
      assert.equal(auto.open(keys[(i + 1) % 3]!, nonce, aad, a, back), false, `other key ${i}`);
    }
  } finally {
    auto.close();
    node.close();
  }
});

Deno.test("aead: a closed libcrypto AEAD says so instead of calling into freed memory", () => {
  const aead = openAead("auto");
  aead.close();
  aead.close();
  if (aead.kind !== "libcrypto") return;
  assert.throws(
    () =>
      aead.seal(
        new Uint8Array(32),
        new Uint8Array(12),
        new Uint8Array(0),
        new Uint8Array(0),
        new Uint8Array(16),
      ),
    /closed/,
  );
});

// A numbered seal (nonce = iv xor (0^4 || packet number), the number in the first 8 bytes
// of the 13-byte associated data, the length in the last 2): worked out with node:crypto's
// general seal; the ciphertext agrees with `openssl enc -chacha20` (counter 1).
const NUMBERED = {
  key: Uint8Array.from({ length: 32 }, (_, i) => i),
  iv: Uint8Array.from({ length: 12 }, (_, i) => 0x40 + i),
  aad: hex("0102030405060708 b40200 0014"),
  nonce: hex("40414243 45474543 4d4f4d43"),
  plaintext: new TextEncoder().encode("iotnet known answer!"),
  sealed: hex("f5e68a873452594d5e81136273ccc59b6ec018c9 9ab067a40d5940d3e5957c39e4168a4d"),
};

/** The 13 bytes of associated data of a numbered seal. */
function numberedAad(pn: number, length: number, middle = [0xb4, 2, 0]): Uint8Array {
  const aad = new Uint8Array(NUMBERED_AAD_BYTES);
  new DataView(aad.buffer).setBigUint64(0, BigInt(pn));
  aad.set(middle, 8);
  aad[11] = length >> 8;
  aad[12] = length & 0xff;
  return aad;
}

Deno.test("aead: the numbered known answer in every implementation, = seal under iv xor pn", () => {
  const v = NUMBERED;
  for (const aead of implementations()) {
    try {
      const out = new Uint8Array(v.sealed.length);
      aead.sealNumbered(v.key, v.iv, v.aad, v.plaintext, out);
      assert.deepEqual(out, v.sealed, aead.kind);
      const general = new Uint8Array(v.sealed.length);
      aead.seal(v.key, v.nonce, v.aad, v.plaintext, general);
      assert.deepEqual(general, v.sealed, `${aead.kind}: the nonce is iv xor pn`);
      const back = new Uint8Array(v.plaintext.length);
      assert.equal(aead.openNumbered(v.key, v.iv, v.aad, out, back), true, aead.kind);
      assert.deepEqual(back, v.plaintext, aead.kind);
    } finally {
      aead.close();
    }
  }
});

Deno.test("aead: numbered seals agree between libcrypto and node:crypto, in place too", () => {
  compareLibcryptoWithNode((auto, node) => {
    const pns = [0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];
    for (const length of [0, 1, 15, 16, 17, 63, 64, 65, 191, 192, 193, 1400, 1424]) {
      const key = crypto.getRandomValues(new Uint8Array(32));
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const aad = numberedAad(pns[length % pns.length]!, length, [length & 0xff, 7, 9]);
      const plaintext = crypto.getRandomValues(new Uint8Array(length));
      const a = new Uint8Array(length + AEAD_TAG_BYTES);
      const b = new Uint8Array(length + AEAD_TAG_BYTES);
      auto.sealNumbered(key, iv, aad, plaintext, a);
      node.sealNumbered(key, iv, aad, plaintext, b);
      assert.deepEqual(a, b, `length ${length}`);
      const inPlace = new Uint8Array(length + AEAD_TAG_BYTES);
      inPlace.set(plaintext);
      auto.sealNumbered(key, iv, aad, inPlace.subarray(0, length), inPlace);
      assert.deepEqual(inPlace, a, `in place, length ${length}`);
      assert.equal(node.openNumbered(key, iv, aad, inPlace, inPlace), true);
      assert.deepEqual(inPlace.subarray(0, length), plaintext);
      const again = b.slice();
      assert.equal(auto.openNumbered(key, iv, aad, again, again), true, `open ${length}`);
      assert.deepEqual(again.subarray(0, length), plaintext);
    }
  });
});

Deno.test("aead: a numbered seal opens only unedited, under its key, IV and number", () => {
  for (const aead of implementations()) {
    try {
      const key = crypto.getRandomValues(new Uint8Array(32));
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const plaintext = crypto.getRandomValues(new Uint8Array(100));
      const aad = numberedAad(77, plaintext.length);
      const sealed = new Uint8Array(plaintext.length + AEAD_TAG_BYTES);
      aead.sealNumbered(key, iv, aad, plaintext, sealed);
      const out = new Uint8Array(plaintext.length);
      const flip = (b: Uint8Array, at: number) => {
        const c = b.slice();
        c[at]! ^= 1;
        return c;
      };
      for (let at = 0; at < sealed.length; at++) {
        assert.equal(aead.openNumbered(key, iv, aad, flip(sealed, at), out), false, `@${at}`);
      }
      // Every byte of the associated data but the length (which must match: RangeError).
      for (let at = 0; at < NUMBERED_AAD_BYTES - 2; at++) {
        assert.equal(aead.openNumbered(key, iv, flip(aad, at), sealed, out), false, `aad @${at}`);
      }
      assert.equal(aead.openNumbered(key, flip(iv, 11), aad, sealed, out), false, "iv");
      assert.equal(aead.openNumbered(flip(key, 0), iv, aad, sealed, out), false, "key");
      assert.throws(
        () => aead.openNumbered(key, iv, flip(aad, 12), sealed, out),
        RangeError,
        "a length that is not the ciphertext's",
      );
      assert.throws(
        () => aead.sealNumbered(key, iv, aad.subarray(1), plaintext, sealed),
        RangeError,
      );
      assert.equal(aead.openNumbered(key, iv, aad, sealed.subarray(0, 15), out), false, "cut");
      // The failures left nothing behind: the genuine one opens.
      assert.equal(aead.openNumbered(key, iv, aad, sealed, out), true, aead.kind);
      assert.deepEqual(out, plaintext);
    } finally {
      aead.close();
    }
  }
});

Deno.test("aead: numbered contexts follow a changed key or IV (edited in place too)", () => {
  // libcrypto keeps its numbered contexts keyed with key and IV: either one changing must
  // re-key them, and a failed open must not spoil the next one.
  const auto = openAead("auto");
  const node = openAead("node");
  try {
    const keys = [0, 1, 2].map(() => crypto.getRandomValues(new Uint8Array(32)));
    const ivs = [0, 1].map(() => crypto.getRandomValues(new Uint8Array(12)));
    const editedIv = ivs[0]!.slice();
    const plaintext = crypto.getRandomValues(new Uint8Array(1400));
    for (let i = 0; i < 30; i++) {
      const key = keys[i % 3]!;
      let iv = ivs[i % 2]!;
      if (i % 7 === 6) {
        editedIv[i % 12]! ^= 1;
        iv = editedIv;
      }
      const aad = numberedAad(i >> 2, plaintext.length);
      const a = new Uint8Array(1400 + AEAD_TAG_BYTES);
      const b = new Uint8Array(1400 + AEAD_TAG_BYTES);
      auto.sealNumbered(key, iv, aad, plaintext, a);
      node.sealNumbered(key, iv, aad, plaintext, b);
      assert.deepEqual(a, b, `seal ${i}`);
      const forged = a.slice();
      forged[i]! ^= 1;
      assert.equal(auto.openNumbered(key, iv, aad, forged, forged), false, `forged ${i}`);
      const back = new Uint8Array(1400);
      assert.equal(auto.openNumbered(key, iv, aad, a, back), true, `open ${i}`);
      assert.deepEqual(back, plaintext, `open ${i}`);
      assert.equal(auto.openNumbered(key, ivs[(i + 1) % 2]!, aad, a, back), false, `iv ${i}`);
    }
  } finally {
    auto.close();
    node.close();
  }
});
