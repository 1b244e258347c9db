/**
 * ChaCha20-Poly1305 (RFC 8439) for sealing peer datagrams, synchronous, in one of two
 * implementations that give identical bytes:
 *
 * - **libcrypto** (OpenSSL 3 through FFI, a sealing and an opening `EVP_CIPHER_CTX`, each
 *   keyed once and then given only nonces): ≈ 2 µs CPU per 1,400-byte datagram here. Used
 *   when FFI is granted and `libcrypto.so.3` loads.
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

/** `node:crypto`'s ChaCha20-Poly1305: a cipher object per datagram. */
class NodeAead implements Aead {
  readonly kind = "node";

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
} as const;

type Libcrypto = Deno.DynamicLibrary<typeof SYMBOLS>;

const EVP_CTRL_AEAD_GET_TAG = 0x10;
const EVP_CTRL_AEAD_SET_TAG = 0x11;

function ffiGranted(): boolean {
  try {
    return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}

/**
 * One `EVP_CIPHER_CTX` with the key it holds. Re-initialising with the cipher and the key
 * for every datagram cost about as much as the encryption itself (OpenSSL 3 rebuilds the
 * provider context); a context keyed once takes only the next nonce.
 */
interface KeyedContext {
  readonly ctx: Deno.PointerValue;
  /** Whether `key` is set in `ctx`. */
  keyed: boolean;
  /** A copy of the key `ctx` holds. */
  readonly key: Uint8Array;
}

/**
 * OpenSSL 3's ChaCha20-Poly1305 through FFI: one context for sealing and one for opening,
 * each re-keyed only when the key changes (an endpoint seals under one key and opens under
 * another, so with one transfer at a time neither ever changes).
 */
class LibcryptoAead implements Aead {
  readonly kind = "libcrypto";
  #lib: Libcrypto | undefined;
  readonly #cipher: Deno.PointerValue;
  readonly #sealing: KeyedContext;
  readonly #opening: KeyedContext;
  /** `int *outl` for the update and final calls. */
  readonly #outLength = new Uint8Array(4);
  /** Final writes nothing for this cipher, but wants a buffer. */
  readonly #final = new Uint8Array(16);
  /** The tag: read out after sealing, copied in from the datagram before opening. */
  readonly #tag = new Uint8Array(AEAD_TAG_BYTES);

  private constructor(
    lib: Libcrypto,
    cipher: Deno.PointerValue,
    sealing: Deno.PointerValue,
    opening: Deno.PointerValue,
  ) {
    this.#lib = lib;
    this.#cipher = cipher;
    this.#sealing = { ctx: sealing, keyed: false, key: new Uint8Array(AEAD_KEY_BYTES) };
    this.#opening = { ctx: opening, keyed: false, key: new Uint8Array(AEAD_KEY_BYTES) };
  }

  /** The library, or `undefined` when FFI or OpenSSL 3 is not there. */
  static tryOpen(): LibcryptoAead | undefined {
    if (Deno.build.os !== "linux" || !ffiGranted()) return undefined;
    let lib: Libcrypto;
    try {
      lib = Deno.dlopen("libcrypto.so.3", SYMBOLS);
    } catch {
      return undefined;
    }
    const sealing = lib.symbols.EVP_CIPHER_CTX_new();
    const opening = lib.symbols.EVP_CIPHER_CTX_new();
    const cipher = lib.symbols.EVP_chacha20_poly1305();
    if (sealing === null || opening === null || cipher === null) {
      if (sealing !== null) lib.symbols.EVP_CIPHER_CTX_free(sealing);
      if (opening !== null) lib.symbols.EVP_CIPHER_CTX_free(opening);
      lib.close();
      return undefined;
    }
    return new LibcryptoAead(lib, cipher, sealing, opening);
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

  #symbols(): Libcrypto["symbols"] {
    if (!this.#lib) throw new Error("the AEAD was closed; open a new one");
    return this.#lib.symbols;
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
    lib.symbols.EVP_CIPHER_CTX_free(this.#sealing.ctx);
    lib.symbols.EVP_CIPHER_CTX_free(this.#opening.ctx);
    lib.close();
  }
}

/** Whether the key a context holds is `key` (both are this end's keys: no timing to hide). */
function sameKey(held: Uint8Array, key: Uint8Array): boolean {
  for (let i = 0; i < AEAD_KEY_BYTES; i++) if (held[i] !== key[i]) return false;
  return true;
}

function checkSizes(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== AEAD_KEY_BYTES) throw new RangeError(`key must be ${AEAD_KEY_BYTES} bytes`);
  if (nonce.length !== AEAD_NONCE_BYTES) {
    throw new RangeError(`nonce must be ${AEAD_NONCE_BYTES} bytes`);
  }
}
