/**
 * Salted slow password hashes for the credentials file (SPEC §2, `docs/SECURITY.md`).
 *
 * A hashed password is one token without spaces, so it fits the `name password` line:
 *
 * ```
 * scrypt$N=16384,r=8,p=1$<salt, base64>$<hash, base64>
 * ```
 *
 * Hashing uses `node:crypto`'s asynchronous `scrypt`, which runs on the runtime's worker
 * threads, never on the event loop's thread; a {@linkcode PasswordHasher} (one per server)
 * runs at most {@linkcode MAX_CONCURRENT_HASHES} at once so a burst of logins cannot claim
 * unbounded memory. The cost parameters
 * live in {@linkcode HASH_PROFILES}; {@linkcode HASH_PROFILE_ENV} picks a profile (the
 * cheap `fast` one is for load tests only). A stored value that does not start with
 * `scrypt$` is a plain-text password, still accepted and compared in constant time.
 *
 * @module
 */

import { createHash, scrypt, timingSafeEqual } from "node:crypto";
import { Semaphore } from "../internal/mod.ts";

/** The scrypt cost parameters (RFC 7914): CPU/memory cost `N`, block size `r`, parallelism `p`. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two; memory is about `128 · N · r` bytes. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelisation (runs one after the other in `node:crypto`). */
  readonly p: number;
}

/**
 * The named cost profiles. `standard` (the default) is the OWASP minimum for scrypt
 * (16 MiB, about 50 ms per hash on one core of the reference machine); `fast` (1 MiB,
 * about 3 ms) exists so load tests can log many devices in, and must not protect real
 * accounts.
 */
export const HASH_PROFILES = {
  standard: { N: 16_384, r: 8, p: 1 },
  fast: { N: 1_024, r: 8, p: 1 },
} as const satisfies Record<string, ScryptParams>;

/** Name of a profile of {@linkcode HASH_PROFILES}. */
export type HashProfile = keyof typeof HASH_PROFILES;

/** The profile used when {@linkcode HASH_PROFILE_ENV} is unset. */
export const DEFAULT_HASH_PROFILE: HashProfile = "standard";

/** Environment variable naming the profile new hashes and dummy checks use. */
export const HASH_PROFILE_ENV = "IOTNET_HASH_PROFILE";

/** First characters of every hashed password; anything else is plain text. */
export const HASH_PREFIX = "scrypt$";
/** Random salt bytes of a new hash. */
export const SALT_BYTES = 16;
/** Derived key bytes of a new hash. */
export const HASH_BYTES = 32;
/** Scrypt computations allowed to run at the same time; more wait their turn. */
export const MAX_CONCURRENT_HASHES = 4;
/** Largest scrypt memory (`128 · N · r`) a stored token may ask for. */
export const MAX_SCRYPT_MEMORY_BYTES = 256 * 1024 * 1024;
/** Longest stored hash token, in characters. */
export const MAX_HASH_TOKEN_CHARS = 256;

/** Accepted ranges of the parts of a stored token. */
const LIMITS = {
  minN: 2,
  maxN: 2 ** 20,
  maxR: 32,
  maxP: 16,
  minSaltBytes: 8,
  maxSaltBytes: 64,
  minHashBytes: 16,
  maxHashBytes: 64,
} as const;

/** A stored hash token that cannot be used; the message never repeats the token. */
export class InvalidHashError extends Error {
  override name = "InvalidHashError";
}

/** The parts of a stored hash token. */
export interface ParsedHash {
  params: ScryptParams;
  salt: Uint8Array;
  hash: Uint8Array;
}

/**
 * The parameters of a named profile.
 *
 * @param name a key of {@linkcode HASH_PROFILES}.
 * @returns its parameters.
 * @throws {RangeError} for an unknown name, listing the known ones.
 * @example
 * ```ts
 * import { hashProfile } from "./password_hash.ts";
 * import assert from "node:assert/strict";
 * assert.equal(hashProfile("standard").N, 16384);
 * ```
 */
export function hashProfile(name: string): ScryptParams {
  if (!Object.hasOwn(HASH_PROFILES, name)) {
    throw new RangeError(
      `unknown password hash profile ${JSON.stringify(name)}; use one of ` +
        Object.keys(HASH_PROFILES).join(", "),
    );
  }
  return HASH_PROFILES[name as HashProfile];
}

/**
 * The parameters selected by {@linkcode HASH_PROFILE_ENV}, or the default profile when
 * it is unset or the environment may not be read.
 *
 * @returns the scrypt parameters to use for new hashes and dummy checks.
 * @throws {RangeError} when the variable names no profile.
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashParamsFromEnv } from "./password_hash.ts";
 * const params = hashParamsFromEnv(); // the default profile unless IOTNET_HASH_PROFILE names one
 * assert.ok(Number.isInteger(params.N) && params.N > 1);
 * ```
 */
export function hashParamsFromEnv(): ScryptParams {
  let name: string | undefined;
  try {
    name = Deno.env.get(HASH_PROFILE_ENV);
  } catch {
    name = undefined; // no --allow-env: the default profile
  }
  return hashProfile(name === undefined || name === "" ? DEFAULT_HASH_PROFILE : name);
}

/**
 * The parameter part of a token, e.g. `N=16384,r=8,p=1`.
 *
 * @param params the parameters.
 * @returns their text form.
 */
export function formatParams(params: ScryptParams): string {
  return `N=${params.N},r=${params.r},p=${params.p}`;
}

/**
 * Hashes and checks passwords, at most {@linkcode MAX_CONCURRENT_HASHES} scrypt
 * computations at once (the rest wait their turn), and keeps the dummy hashes that
 * unknown names are checked against. One per server, made in `startServer`.
 */
export class PasswordHasher {
  readonly #slots = new Semaphore(MAX_CONCURRENT_HASHES);
  /** Dummy tokens by parameter set: made once each. */
  readonly #dummies = new Map<string, string>();
  /** The cost used when a call names none; `undefined`: {@linkcode hashParamsFromEnv}. */
  readonly #params: ScryptParams | undefined;

  /**
   * @param params the cost of {@linkcode PasswordHasher.hash} and
   *   {@linkcode PasswordHasher.dummy} when a call names none; default
   *   {@linkcode hashParamsFromEnv} at each call.
   */
  constructor(params?: ScryptParams) {
    this.#params = params;
  }

  /**
   * Hashes a password with a fresh random salt.
   *
   * @param password the password.
   * @param params the cost; default the hasher's (see the constructor).
   * @returns a token for the credentials file.
   * @throws {InvalidHashError} when `params` are out of range.
   * @example
   * ```ts
   * import { HASH_PROFILES, PasswordHasher } from "./password_hash.ts";
   * import assert from "node:assert/strict";
   * const hasher = new PasswordHasher();
   * const token = await hasher.hash("pw1", HASH_PROFILES.fast);
   * assert.match(token, /^scrypt\$N=1024,r=8,p=1\$/);
   * assert.equal(await hasher.verify(token, "pw1"), true);
   * assert.equal(await hasher.verify(token, "pw2"), false);
   * ```
   */
  async hash(password: string, params: ScryptParams = this.#defaultParams()): Promise<string> {
    const problem = paramsProblem(params);
    if (problem) throw new InvalidHashError(problem);
    const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
    const hash = await this.#derive(password, salt, params, HASH_BYTES);
    return formatToken({ params, salt, hash });
  }

  /**
   * Checks a password against a stored value: a hash token, or a plain-text password.
   * Hashes are compared with `timingSafeEqual` after the scrypt work; plain values are
   * compared through their SHA-256 digests with `timingSafeEqual`, so the time depends on
   * neither the content nor the length of the stored password.
   *
   * @param stored the credentials-file value.
   * @param password what the device sent.
   * @returns whether they match; `false` for a token that does not parse.
   * @example
   * ```ts
   * import { PasswordHasher } from "./password_hash.ts";
   * import assert from "node:assert/strict";
   * const hasher = new PasswordHasher();
   * assert.equal(await hasher.verify("pw1", "pw1"), true);
   * assert.equal(await hasher.verify("pw1", "pw12"), false);
   * ```
   */
  async verify(stored: string, password: string): Promise<boolean> {
    if (!isPasswordHash(stored)) return plainEqual(stored, password);
    let parsed: ParsedHash;
    try {
      parsed = parsePasswordHash(stored);
    } catch (error) {
      if (error instanceof InvalidHashError) return false;
      throw error;
    }
    const candidate = await this.#derive(password, parsed.salt, parsed.params, parsed.hash.length);
    return timingSafeEqual(candidate, parsed.hash);
  }

  /**
   * A well-formed hash token that no password matches (its hash is random bytes, not the
   * hash of anything), for checking an unknown name with the same work as a known one.
   * Made once per parameter set.
   *
   * @param params the cost the check should have; default the hasher's (see the constructor).
   * @returns the dummy token.
   * @example
   * ```ts
   * import { HASH_PROFILES, PasswordHasher } from "./password_hash.ts";
   * import assert from "node:assert/strict";
   * const hasher = new PasswordHasher();
   * assert.equal(await hasher.verify(hasher.dummy(HASH_PROFILES.fast), ""), false);
   * ```
   */
  dummy(params: ScryptParams = this.#defaultParams()): string {
    const key = formatParams(params);
    let token = this.#dummies.get(key);
    if (token === undefined) {
      token = formatToken({
        params,
        salt: crypto.getRandomValues(new Uint8Array(SALT_BYTES)),
        hash: crypto.getRandomValues(new Uint8Array(HASH_BYTES)),
      });
      this.#dummies.set(key, token);
    }
    return token;
  }
  #defaultParams(): ScryptParams {
    return this.#params ?? hashParamsFromEnv();
  }

  /** Runs one scrypt off the event loop's thread, waiting for a free slot first. */
  async #derive(
    password: string,
    salt: Uint8Array,
    params: ScryptParams,
    keyBytes: number,
  ): Promise<Uint8Array> {
    const slot = await this.#slots.acquire();
    try {
      return await new Promise<Uint8Array>((resolve, reject) => {
        scrypt(
          password,
          salt,
          keyBytes,
          { N: params.N, r: params.r, p: params.p, maxmem: 2 * MAX_SCRYPT_MEMORY_BYTES },
          (error, key) => error ? reject(error) : resolve(new Uint8Array(key)),
        );
      });
    } finally {
      slot.release();
    }
  }
}

/**
 * Hashes a password with a fresh random salt, with a {@linkcode PasswordHasher} of its
 * own: for one hash outside a server (`iotnet passwd`, scripts, tests).
 *
 * @param password the password.
 * @param params the cost; default {@linkcode hashParamsFromEnv}.
 * @returns a token for the credentials file.
 * @throws {InvalidHashError} when `params` are out of range.
 * @example
 * ```ts
 * import { HASH_PROFILES, hashPassword } from "./password_hash.ts";
 * import assert from "node:assert/strict";
 * assert.match(await hashPassword("pw1", HASH_PROFILES.fast), /^scrypt\$N=1024,r=8,p=1\$/);
 * ```
 */
export function hashPassword(password: string, params?: ScryptParams): Promise<string> {
  return new PasswordHasher().hash(password, params);
}

/**
 * Tells a hash token from a plain-text password (by its `scrypt$` prefix alone).
 *
 * @param stored a credentials-file value.
 * @returns whether it is meant as a hash token.
 */
export function isPasswordHash(stored: string): boolean {
  return stored.startsWith(HASH_PREFIX);
}

/**
 * Splits a hash token into its parts.
 *
 * @param token a `scrypt$...` token.
 * @returns parameters, salt and hash.
 * @throws {InvalidHashError} naming what is wrong (never echoing the token).
 */
export function parsePasswordHash(token: string): ParsedHash {
  if (token.length > MAX_HASH_TOKEN_CHARS) {
    throw new InvalidHashError(`hash is longer than ${MAX_HASH_TOKEN_CHARS} characters`);
  }
  const parts = token.split("$");
  if (parts.length !== 4 || parts[0] !== "scrypt") {
    throw new InvalidHashError("hash is not of the form scrypt$N=..,r=..,p=..$salt$hash");
  }
  const match = /^N=(\d{1,8}),r=(\d{1,3}),p=(\d{1,3})$/.exec(parts[1]!);
  if (!match) throw new InvalidHashError("hash parameters are not N=<int>,r=<int>,p=<int>");
  const params = { N: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  const problem = paramsProblem(params);
  if (problem) throw new InvalidHashError(problem);
  const salt = decodeBase64(parts[2]!, "salt");
  const hash = decodeBase64(parts[3]!, "hash");
  if (salt.length < LIMITS.minSaltBytes || salt.length > LIMITS.maxSaltBytes) {
    throw new InvalidHashError(
      `hash salt must be ${LIMITS.minSaltBytes}..${LIMITS.maxSaltBytes} bytes`,
    );
  }
  if (hash.length < LIMITS.minHashBytes || hash.length > LIMITS.maxHashBytes) {
    throw new InvalidHashError(
      `hash value must be ${LIMITS.minHashBytes}..${LIMITS.maxHashBytes} bytes`,
    );
  }
  return { params, salt, hash };
}

/**
 * Checks a stored hash token without using it.
 *
 * @param token a `scrypt$...` token.
 * @returns `undefined` when it parses, otherwise what is wrong.
 */
export function passwordHashProblem(token: string): string | undefined {
  try {
    parsePasswordHash(token);
    return undefined;
  } catch (error) {
    if (error instanceof InvalidHashError) return error.message;
    throw error;
  }
}

function paramsProblem(params: ScryptParams): string | undefined {
  const { N, r, p } = params;
  if (!Number.isInteger(N) || N < LIMITS.minN || N > LIMITS.maxN || (N & (N - 1)) !== 0) {
    return `hash parameter N must be a power of two ${LIMITS.minN}..${LIMITS.maxN}`;
  }
  if (!Number.isInteger(r) || r < 1 || r > LIMITS.maxR) {
    return `hash parameter r must be 1..${LIMITS.maxR}`;
  }
  if (!Number.isInteger(p) || p < 1 || p > LIMITS.maxP) {
    return `hash parameter p must be 1..${LIMITS.maxP}`;
  }
  if (128 * N * r > MAX_SCRYPT_MEMORY_BYTES) {
    return `hash parameters need more than ${MAX_SCRYPT_MEMORY_BYTES} bytes of memory`;
  }
  return undefined;
}

function formatToken(parsed: ParsedHash): string {
  return `${HASH_PREFIX}${formatParams(parsed.params)}$${encodeBase64(parsed.salt)}$${
    encodeBase64(parsed.hash)
  }`;
}

function encodeBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** Strict base64: the standard alphabet with padding, and nothing that re-encodes differently. */
function decodeBase64(text: string, what: string): Uint8Array {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new InvalidHashError(`hash ${what} is not base64`);
  }
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  if (encodeBase64(bytes) !== text) throw new InvalidHashError(`hash ${what} is not base64`);
  return bytes;
}

function plainEqual(stored: string, password: string): boolean {
  const a = createHash("sha256").update(stored, "utf8").digest();
  const b = createHash("sha256").update(password, "utf8").digest();
  return timingSafeEqual(a, b);
}
