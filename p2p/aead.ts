/**
 * ChaCha20-Poly1305 (RFC 8439) for sealing peer datagrams, synchronous, in one of two
 * implementations that give identical bytes:
 *
 * - **libcrypto** (OpenSSL 3 through FFI, contexts keyed once and kept): a numbered seal
 *   or open ({@linkcode Aead.sealNumbered}, what every datagram takes) is two calls,
 *   ≈ 1 µs CPU per 1,400-byte datagram here; a general one five, ≈ 1.3–1.5 µs. Used when
 *   FFI is granted, `libcrypto.so.3` loads and gives the known answer.
 * - **node** (`node:crypto`): ≈ 8–9 µs per datagram. The silent fallback (no FFI
 *   permission, another OS, no OpenSSL 3), the same shape as `_udp_tuning.ts`.
 *
 * An {@linkcode Aead} belongs to one endpoint (or one test) and is closed with it.
 *
 * @module
 */

import { createCipheriv, createDecipheriv } from "node:crypto";

/** Bytes in a ChaCha20-Poly1305 key. */
export const AEAD_KEY_BYTES = 32;
/** Bytes in a nonce. */
export const AEAD_NONCE_BYTES = 12;
/** Bytes in the Poly1305 tag after the ciphertext. */
export const AEAD_TAG_BYTES = 16;
/**
 * Bytes of the associated data of a numbered seal ({@linkcode Aead.sealNumbered}): the
 * packet number (u64), three bytes the caller chooses, the plaintext's length (u16), all
 * big-endian; the layout of a TLS 1.2 record's, which lets OpenSSL do it in one call.
 */
export const NUMBERED_AAD_BYTES = 13;

/** An AEAD implementation: ChaCha20-Poly1305, whichever library does the work. */
export interface Aead {
  /** Which implementation this is. */
  readonly kind: "libcrypto" | "node";
  /**
   * Encrypts `plaintext` into `out` and writes the tag right after the ciphertext.
   * `out` may start where `plaintext` starts (in place); it must not overlap otherwise.
   *
   * @param key 32 bytes.
   * @param nonce 12 bytes, never used twice with one key for different content.
   * @param aad authenticated, not encrypted.
   * @param plaintext the bytes to encrypt.
   * @param out at least `plaintext.length + 16` bytes.
   */
  seal(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
  ): void;
  /**
   * Checks the tag at the end of `sealed` and decrypts the rest into `out` (which may
   * start where `sealed` starts). On failure `out` holds garbage: use nothing from it.
   *
   * @param key 32 bytes.
   * @param nonce 12 bytes.
   * @param aad authenticated data.
   * @param sealed ciphertext followed by the 16-byte tag.
   * @param out at least `sealed.length - 16` bytes.
   * @returns whether the tag verified.
   */
  open(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    sealed: Uint8Array,
    out: Uint8Array,
  ): boolean;
  /**
   * Seals one datagram's body under the nonce `iv xor (0⁴ ‖ packet number)` (RFC 7905's
   * rule for TLS 1.2 and DTLS 1.2 records), the packet number being the first 8 bytes of
   * `aad`: the same bytes as {@linkcode seal} with that nonce and `aad`.
   *
   * @param key 32 bytes.
   * @param iv 12 bytes, this direction's.
   * @param aad {@linkcode NUMBERED_AAD_BYTES}: packet number (never used twice with one
   * key and IV for different content), 3 bytes of the caller's, `plaintext.length`.
   * @param plaintext the bytes to encrypt (at most 65,535).
   * @param out at least `plaintext.length + 16` bytes; may start where `plaintext` does.
   * @throws {RangeError} when the sizes or the length in `aad` do not fit.
   */
  sealNumbered(
    key: Uint8Array,
    iv: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
  ): void;
  /**
   * Opens what {@linkcode sealNumbered} sealed, in place or into `out`.
   *
   * @param key 32 bytes.
   * @param iv 12 bytes.
   * @param aad as sealed: its last two bytes are `sealed.length - 16`.
   * @param sealed ciphertext followed by the tag.
   * @param out at least `sealed.length - 16` bytes (may start where `sealed` starts);
   * garbage when `false` comes back.
   * @returns whether the tag verified.
   * @throws {RangeError} when the sizes or the length in `aad` do not fit.
   */
  openNumbered(
    key: Uint8Array,
    iv: Uint8Array,
    aad: Uint8Array,
    sealed: Uint8Array,
    out: Uint8Array,
  ): boolean;
  /** Frees what the implementation holds (idempotent). */
  close(): void;
}

/** Which implementation {@linkcode openAead} may pick. */
export type AeadChoice = "auto" | "libcrypto" | "node";

/**
 * Opens an AEAD: libcrypto through FFI when it can, `node:crypto` otherwise.
 *
 * @param choice `auto` (default), or force one (`libcrypto` throws when unavailable).
 * @returns the implementation; close it when done.
 * @throws {Error} only for `libcrypto` when FFI or the library is not available.
 * @example
 * ```ts
 * import { openAead } from "./aead.ts";
 * const aead = openAead("node");
 * const key = new Uint8Array(32), nonce = new Uint8Array(12);
 * const out = new Uint8Array(3 + 16);
 * aead.seal(key, nonce, new Uint8Array(0), new Uint8Array([1, 2, 3]), out);
 * const back = new Uint8Array(3);
 * console.assert(aead.open(key, nonce, new Uint8Array(0), out, back) && back[2] === 3);
 * aead.close();
 * ```
 */
export function openAead(choice: AeadChoice = "auto"): Aead {
  if (choice === "node") return new NodeAead();
  const lib = LibcryptoAead.tryOpen();
  if (lib) return lib;
  if (choice === "libcrypto") {
    throw new Error(
      "libcrypto.so.3 is not available through FFI: run with --allow-ffi on Linux with OpenSSL 3",
    );
  }
  return new NodeAead();
}

/**
 * Writes `iv xor (0⁴ ‖ aad[0..8])` into `nonce`: the nonce of a numbered seal.
 *
 * @throws {RangeError} when the IV or the associated data has the wrong size, or the
 * length in `aad` is not `length`.
 */
function numberedNonce(iv: Uint8Array, aad: Uint8Array, length: number, nonce: Uint8Array): void {
  checkNumbered(iv, aad, length);
  nonce.set(iv);
  for (let i = 0; i < 8; i++) nonce[4 + i]! ^= aad[i]!;
}

function checkNumbered(iv: Uint8Array, aad: Uint8Array, length: number): void {
  if (iv.length !== AEAD_NONCE_BYTES) throw new RangeError(`iv must be ${AEAD_NONCE_BYTES} bytes`);
  if (aad.length !== NUMBERED_AAD_BYTES) {
    throw new RangeError(`numbered associated data is ${NUMBERED_AAD_BYTES} bytes`);
  }
  if (((aad[11]! << 8) | aad[12]!) !== length) {
    throw new RangeError(`the associated data must end with the plaintext length ${length}`);
  }
}

/** `node:crypto`'s ChaCha20-Poly1305: a cipher object per datagram. */
class NodeAead implements Aead {
  readonly kind = "node";
  readonly #nonce = new Uint8Array(AEAD_NONCE_BYTES);

  sealNumbered(
    key: Uint8Array,
    iv: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
  ): void {
    numberedNonce(iv, aad, plaintext.length, this.#nonce);
    this.seal(key, this.#nonce, aad, plaintext, out);
  }

  openNumbered(
    key: Uint8Array,
    iv: Uint8Array,
    aad: Uint8Array,
    sealed: Uint8Array,
    out: Uint8Array,
  ): boolean {
    if (sealed.length < AEAD_TAG_BYTES) return false;
    numberedNonce(iv, aad, sealed.length - AEAD_TAG_BYTES, this.#nonce);
    return this.open(key, this.#nonce, aad, sealed, out);
  }

  seal(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
  ): void {
    const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: AEAD_TAG_BYTES });
    c.setAAD(aad, { plaintextLength: plaintext.length });
    const n = plaintext.length;
    const body = c.update(plaintext);
    c.final();
    out.set(body, 0);
    out.set(c.getAuthTag(), n);
  }

  open(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    sealed: Uint8Array,
    out: Uint8Array,
  ): boolean {
    const n = sealed.length - AEAD_TAG_BYTES;
    if (n < 0) return false;
    const d = createDecipheriv("chacha20-poly1305", key, nonce, {
      authTagLength: AEAD_TAG_BYTES,
    });
    d.setAAD(aad, { plaintextLength: n });
    d.setAuthTag(sealed.subarray(n));
    const body = d.update(sealed.subarray(0, n));
    try {
      d.final();
    } catch {
      return false;
    }
    out.set(body, 0);
    return true;
  }

  close(): void {}
}

const SYMBOLS = {
  EVP_CIPHER_CTX_new: { parameters: [], result: "pointer" },
  EVP_CIPHER_CTX_free: { parameters: ["pointer"], result: "void" },
  EVP_chacha20_poly1305: { parameters: [], result: "pointer" },
  EVP_CipherInit_ex: {
    parameters: ["pointer", "pointer", "pointer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  EVP_CipherUpdate: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "i32"],
    result: "i32",
  },
  EVP_CipherFinal_ex: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  EVP_CIPHER_CTX_ctrl: { parameters: ["pointer", "i32", "i32", "buffer"], result: "i32" },
  EVP_Cipher: { parameters: ["pointer", "buffer", "buffer", "u32"], result: "i32" },
} as const;

type Libcrypto = Deno.DynamicLibrary<typeof SYMBOLS>;

const EVP_CTRL_AEAD_GET_TAG = 0x10;
const EVP_CTRL_AEAD_SET_TAG = 0x11;
/** Hands a context the 13 bytes of a TLS record's associated data (OpenSSL's evp.h). */
const EVP_CTRL_AEAD_TLS1_AAD = 0x16;

/**
 * A numbered seal libcrypto's record path must give byte for byte before it is used
 * (worked out with `node:crypto` from the nonce `iv xor (0⁴ ‖ packet number)`; the
 * ciphertext checked with `openssl enc -chacha20`); `aead_test.ts` holds every
 * implementation to the same bytes.
 */
const NUMBERED_KNOWN_ANSWER = {
  key: Uint8Array.from({ length: 32 }, (_, i) => i),
  iv: Uint8Array.from({ length: 12 }, (_, i) => 0x40 + i),
  /** Packet number 0x0102030405060708, then 0xb4 0x02 0x00, then the length, 20. */
  aad: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 0xb4, 0x02, 0x00, 0x00, 20),
  plaintext: new TextEncoder().encode("iotnet known answer!"),
  /** Ciphertext (20 bytes), then the tag (16). */
  sealed: Uint8Array.from(
    "f5e68a873452594d5e81136273ccc59b6ec018c99ab067a40d5940d3e5957c39e4168a4d".match(/../g)!,
    (b) => parseInt(b, 16),
  ),
};

function ffiGranted(): boolean {
  try {
    return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}

/**
 * One `EVP_CIPHER_CTX` with the key (and, for numbered use, the IV) it holds.
 * Re-initialising with the cipher and the key for every datagram cost about as much as
 * the encryption itself (OpenSSL 3 rebuilds the provider context); a context keyed once
 * takes only the next nonce, or for numbered use nothing but the associated data.
 */
interface KeyedContext {
  readonly ctx: Deno.PointerValue;
  /** Whether `key` (and `iv`) are set in `ctx`. */
  keyed: boolean;
  /** A copy of the key `ctx` holds. */
  readonly key: Uint8Array;
  /** A copy of the IV `ctx` holds (numbered contexts only). */
  readonly iv: Uint8Array;
}

/** The four contexts, in the order they are made and freed. */
const CONTEXTS = 4;

/**
 * OpenSSL 3's ChaCha20-Poly1305 through FFI: one context each for sealing, opening,
 * numbered sealing and numbered opening, each re-keyed only when its key (or IV) changes
 * (an endpoint seals under one key and opens under another, so with one transfer at a
 * time none ever changes).
 *
 * A numbered seal or open uses OpenSSL's TLS record path: `EVP_CTRL_AEAD_TLS1_AAD` hands
 * the context the 13 bytes of associated data, from whose first 8 it makes the nonce
 * (`iv xor sequence number`, RFC 7905), and one `EVP_Cipher` encrypts and writes the tag
 * (or decrypts and checks it): two FFI calls instead of five (nonce, associated data,
 * body, final, tag), ≈ 1 µs instead of ≈ 1.3–1.5 µs per 1,400-byte datagram here.
 */
class LibcryptoAead implements Aead {
  readonly kind = "libcrypto";
  #lib: Libcrypto | undefined;
  readonly #cipher: Deno.PointerValue;
  readonly #sealing: KeyedContext;
  readonly #opening: KeyedContext;
  readonly #numberedSealing: KeyedContext;
  readonly #numberedOpening: KeyedContext;
  /** `int *outl` for the update and final calls. */
  readonly #outLength = new Uint8Array(4);
  /** Final writes nothing for this cipher, but wants a buffer. */
  readonly #final = new Uint8Array(16);
  /** The tag: read out after sealing, copied in from the datagram before opening. */
  readonly #tag = new Uint8Array(AEAD_TAG_BYTES);
  /** The associated data handed to a numbered context (opening rewrites its length). */
  readonly #aad = new Uint8Array(NUMBERED_AAD_BYTES);

  private constructor(lib: Libcrypto, cipher: Deno.PointerValue, contexts: Deno.PointerValue[]) {
    this.#lib = lib;
    this.#cipher = cipher;
    const keyed = (ctx: Deno.PointerValue): KeyedContext => ({
      ctx,
      keyed: false,
      key: new Uint8Array(AEAD_KEY_BYTES),
      iv: new Uint8Array(AEAD_NONCE_BYTES),
    });
    [this.#sealing, this.#opening, this.#numberedSealing, this.#numberedOpening] = contexts.map(
      keyed,
    ) as [KeyedContext, KeyedContext, KeyedContext, KeyedContext];
  }

  /**
   * The library, or `undefined` when FFI or OpenSSL 3 is not there, or when its record
   * path does not give {@linkcode NUMBERED_KNOWN_ANSWER} (then `node:crypto` does it all).
   */
  static tryOpen(): LibcryptoAead | undefined {
    if (Deno.build.os !== "linux" || !ffiGranted()) return undefined;
    let lib: Libcrypto;
    try {
      lib = Deno.dlopen("libcrypto.so.3", SYMBOLS);
    } catch {
      return undefined;
    }
    const contexts: Deno.PointerValue[] = [];
    for (let i = 0; i < CONTEXTS; i++) contexts.push(lib.symbols.EVP_CIPHER_CTX_new());
    const cipher = lib.symbols.EVP_chacha20_poly1305();
    if (cipher === null || contexts.includes(null)) {
      for (const ctx of contexts) if (ctx !== null) lib.symbols.EVP_CIPHER_CTX_free(ctx);
      lib.close();
      return undefined;
    }
    const aead = new LibcryptoAead(lib, cipher, contexts);
    if (!aead.#givesKnownAnswer()) {
      aead.close();
      return undefined;
    }
    return aead;
  }

  /** Whether a numbered seal and open here give {@linkcode NUMBERED_KNOWN_ANSWER}. */
  #givesKnownAnswer(): boolean {
    const k = NUMBERED_KNOWN_ANSWER;
    const out = new Uint8Array(k.sealed.length);
    const back = new Uint8Array(k.plaintext.length);
    try {
      this.sealNumbered(k.key, k.iv, k.aad, k.plaintext, out);
      return out.every((b, i) => b === k.sealed[i]) &&
        this.openNumbered(k.key, k.iv, k.aad, out, back) &&
        back.every((b, i) => b === k.plaintext[i]);
    } catch {
      return false;
    }
  }

  /**
   * Sets `nonce` (and `key`, when it is not the one `c` holds) for the next message.
   *
   * @returns whether OpenSSL accepted them.
   */
  #init(
    s: Libcrypto["symbols"],
    c: KeyedContext,
    key: Uint8Array,
    nonce: Uint8Array,
    encrypt: 0 | 1,
  ): boolean {
    if (c.keyed && sameKey(c.key, key)) {
      return s.EVP_CipherInit_ex(c.ctx, null, null, null, nonce, encrypt) === 1;
    }
    c.keyed = false;
    if (s.EVP_CipherInit_ex(c.ctx, this.#cipher, null, key, nonce, encrypt) !== 1) return false;
    c.key.set(key);
    c.keyed = true;
    return true;
  }

  /**
   * Makes `c` hold `key` and `iv` for numbered use (nothing to do when it does).
   *
   * @returns whether OpenSSL accepted them.
   */
  #keyNumbered(
    s: Libcrypto["symbols"],
    c: KeyedContext,
    key: Uint8Array,
    iv: Uint8Array,
    encrypt: 0 | 1,
  ): boolean {
    if (c.keyed && sameKey(c.key, key) && sameIv(c.iv, iv)) return true;
    c.keyed = false;
    if (s.EVP_CipherInit_ex(c.ctx, this.#cipher, null, key, iv, encrypt) !== 1) return false;
    c.key.set(key);
    c.iv.set(iv);
    c.keyed = true;
    return true;
  }

  #symbols(): Libcrypto["symbols"] {
    if (!this.#lib) throw new Error("the AEAD was closed; open a new one");
    return this.#lib.symbols;
  }

  sealNumbered(
    key: Uint8Array,
    iv: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
  ): void {
    const s = this.#symbols();
    const n = plaintext.length;
    checkSizes(key, iv);
    checkNumbered(iv, aad, n);
    if (out.length < n + AEAD_TAG_BYTES) throw new RangeError("out is too short");
    const c = this.#numberedSealing;
    this.#aad.set(aad);
    if (
      !this.#keyNumbered(s, c, key, iv, 1) ||
      s.EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_AEAD_TLS1_AAD, NUMBERED_AAD_BYTES, this.#aad) !==
        AEAD_TAG_BYTES ||
      s.EVP_Cipher(c.ctx, out, plaintext, n + AEAD_TAG_BYTES) !== n + AEAD_TAG_BYTES
    ) {
      c.keyed = false;
      throw new Error("libcrypto ChaCha20-Poly1305 encryption failed");
    }
  }

  openNumbered(
    key: Uint8Array,
    iv: Uint8Array,
    aad: Uint8Array,
    sealed: Uint8Array,
    out: Uint8Array,
  ): boolean {
    const s = this.#symbols();
    const n = sealed.length - AEAD_TAG_BYTES;
    if (n < 0) return false;
    checkSizes(key, iv);
    checkNumbered(iv, aad, n);
    if (out.length < n) throw new RangeError("out is too short");
    const c = this.#numberedOpening;
    // OpenSSL wants the record's length, tag included, and takes the tag off itself.
    const held = this.#aad;
    held.set(aad);
    held[11] = sealed.length >>> 8;
    held[12] = sealed.length & 0xff;
    return this.#keyNumbered(s, c, key, iv, 0) &&
      s.EVP_CIPHER_CTX_ctrl(c.ctx, EVP_CTRL_AEAD_TLS1_AAD, NUMBERED_AAD_BYTES, held) ===
        AEAD_TAG_BYTES &&
      // A failed tag is -1 (OpenSSL zeroes what it decrypted); success is the length.
      s.EVP_Cipher(c.ctx, out, sealed, sealed.length) === n;
  }

  seal(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    plaintext: Uint8Array,
    out: Uint8Array,
  ): void {
    const s = this.#symbols();
    checkSizes(key, nonce);
    const n = plaintext.length;
    if (out.length < n + AEAD_TAG_BYTES) throw new RangeError("out is too short");
    const ctx = this.#sealing.ctx;
    const tag = this.#tag;
    if (
      !this.#init(s, this.#sealing, key, nonce, 1) ||
      (aad.length > 0 && s.EVP_CipherUpdate(ctx, null, this.#outLength, aad, aad.length) !== 1) ||
      (n > 0 && s.EVP_CipherUpdate(ctx, out, this.#outLength, plaintext, n) !== 1) ||
      s.EVP_CipherFinal_ex(ctx, this.#final, this.#outLength) !== 1 ||
      s.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_BYTES, tag) !== 1
    ) {
      this.#sealing.keyed = false;
      throw new Error("libcrypto ChaCha20-Poly1305 encryption failed");
    }
    out.set(tag, n);
  }

  open(
    key: Uint8Array,
    nonce: Uint8Array,
    aad: Uint8Array,
    sealed: Uint8Array,
    out: Uint8Array,
  ): boolean {
    const s = this.#symbols();
    checkSizes(key, nonce);
    const n = sealed.length - AEAD_TAG_BYTES;
    if (n < 0) return false;
    if (out.length < n) throw new RangeError("out is too short");
    const ctx = this.#opening.ctx;
    // The tag is copied out first, so decrypting in place cannot touch it.
    const tag = this.#tag;
    for (let i = 0; i < AEAD_TAG_BYTES; i++) tag[i] = sealed[n + i]!;
    if (!this.#init(s, this.#opening, key, nonce, 0)) return false;
    if (aad.length > 0 && s.EVP_CipherUpdate(ctx, null, this.#outLength, aad, aad.length) !== 1) {
      return false;
    }
    if (n > 0 && s.EVP_CipherUpdate(ctx, out, this.#outLength, sealed, n) !== 1) return false;
    if (s.EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_BYTES, tag) !== 1) {
      return false;
    }
    return s.EVP_CipherFinal_ex(ctx, this.#final, this.#outLength) === 1;
  }

  close(): void {
    const lib = this.#lib;
    if (!lib) return;
    this.#lib = undefined;
    for (const c of [this.#sealing, this.#opening, this.#numberedSealing, this.#numberedOpening]) {
      lib.symbols.EVP_CIPHER_CTX_free(c.ctx);
    }
    lib.close();
  }
}

/** Whether the key a context holds is `key` (both are this end's keys: no timing to hide). */
function sameKey(held: Uint8Array, key: Uint8Array): boolean {
  for (let i = 0; i < AEAD_KEY_BYTES; i++) if (held[i] !== key[i]) return false;
  return true;
}

/** Whether the IV a context holds is `iv`. */
function sameIv(held: Uint8Array, iv: Uint8Array): boolean {
  for (let i = 0; i < AEAD_NONCE_BYTES; i++) if (held[i] !== iv[i]) return false;
  return true;
}

function checkSizes(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== AEAD_KEY_BYTES) throw new RangeError(`key must be ${AEAD_KEY_BYTES} bytes`);
  if (nonce.length !== AEAD_NONCE_BYTES) {
    throw new RangeError(`nonce must be ${AEAD_NONCE_BYTES} bytes`);
  }
}
