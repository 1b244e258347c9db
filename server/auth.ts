/**
 * Login checking and throttling (SPEC §1, §6, §9). Consecutive failures are counted per
 * device name, whatever connection, address or server they come from; at `attempts`
 * failures the name is blocked for `blockMs`, recorded in the store so a restart keeps it.
 *
 * What an attacker can learn or gain is kept small:
 * - an unknown name gets the same reply bytes as a wrong password, after the same work:
 *   exactly one scrypt check per attempt, against a dummy hash when there is no real
 *   one (also for plain-text accounts, whose own comparison costs nothing);
 * - every attempt **reserves** its place in the name's count in the store before its
 *   check runs ({@linkcode LoginAttempts}): parallel guesses from many connections, on one
 *   server or on every server of a network, cannot overshoot `attempts` while hashes run;
 *   on each server, attempts for one name are also checked one at a time;
 * - a blocked name is refused before any hashing, and failures during a block do not
 *   extend it.
 *
 * Nothing here logs; the session logs the name and the outcome, never the password.
 *
 * @module
 */

import { type Clock, KeyedLock } from "../internal/mod.ts";
import { deviceNameProblem } from "../protocol/limits.ts";
import type { AccountSource } from "./credentials_file.ts";
import {
  formatParams,
  hashParamsFromEnv,
  isPasswordHash,
  parsePasswordHash,
  PasswordHasher,
  passwordHashProblem,
  type ScryptParams,
} from "./password_hash.ts";
import type { FailedLogins, LoginAttempts } from "./store/interfaces.ts";
import { ED25519_PREFIX, parsePublicKey } from "../tls/device_key.ts";

/** A key no account has: what a key login for a keyless name is checked against. */
const DUMMY_PUBLIC_KEY = new Uint8Array(32).fill(0x5a);

/** The result of one login attempt. */
export type LoginOutcome =
  | { ok: true }
  | {
    ok: false;
    code: "bad_credentials" | "blocked";
    message: string;
    /** Set on the failure that started a block: its length in seconds and the failures. */
    blockStarted?: { seconds: number; failures: number };
  };

/** Options of {@linkcode Authenticator}. */
export interface AuthenticatorOptions {
  credentials: AccountSource;
  /** Where failures are counted and attempts reserved: the store's. */
  loginAttempts: LoginAttempts;
  clock: Clock;
  /** Consecutive failures that block a name (1..5). */
  attempts: number;
  /** How long a block lasts. */
  blockMs: number;
  /**
   * Cost of the dummy check when the credentials file holds no hashes to copy it from.
   * Default: the profile named by `IOTNET_HASH_PROFILE` (`password_hash.ts`).
   */
  hashParams?: ScryptParams;
  /** The server's hasher, which limits the scrypt work in flight. Default: one of its own. */
  hasher?: PasswordHasher;
  /** The password check; default the hasher's. Tests wrap it to count the work done. */
  verify?: (stored: string, password: string) => Promise<boolean>;
}

/** The one reply for an unknown name and a wrong password alike. */
export const BAD_CREDENTIALS_MESSAGE = "Invalid name or password. Please try again.";

/** Checks logins and keeps the failure counts. */
export class Authenticator {
  readonly #options: AuthenticatorOptions;
  readonly #hasher: PasswordHasher;
  readonly #verify: (stored: string, password: string) => Promise<boolean>;
  readonly #fallbackParams: ScryptParams;
  /** Attempts being checked, by name: one at a time per name. */
  readonly #attempts = new KeyedLock();
  #paramsFor: { accounts: Map<string, string>; params: ScryptParams } | undefined;

  /**
   * @param options where accounts and lockouts live, and the throttling settings.
   * @throws {RangeError} when `IOTNET_HASH_PROFILE` names no profile (and
   *   `options.hashParams` is not given).
   */
  constructor(options: AuthenticatorOptions) {
    this.#options = options;
    const hasher = this.#hasher = options.hasher ?? new PasswordHasher();
    this.#verify = options.verify ?? ((stored, password) => hasher.verify(stored, password));
    this.#fallbackParams = options.hashParams ?? hashParamsFromEnv();
  }

  /**
   * Checks one attempt for `name` and updates its failure count. Attempts for the same
   * name are checked in arrival order, one at a time; different names run in parallel.
   *
   * @param name the device name as sent (may be anything).
   * @param password the password as sent.
   * @returns success, or the refusal to send back.
   */
  login(name: string, password: string): Promise<LoginOutcome> {
    return this.#attempts.run(
      name,
      () => this.#attempt(name, (stored, accounts) => this.#check(stored, password, accounts)),
    );
  }

  /**
   * Checks one key login for `name` (SPEC §7), throttled and blocked exactly as a password
   * login, with the same replies. An account without a key (a password one, or none) is
   * checked against a dummy key, so it costs the same one signature check.
   *
   * @param name the device name as sent.
   * @param verify checks the signature against a raw Ed25519 public key.
   * @returns success, or the refusal to send back.
   */
  loginWithKey(
    name: string,
    verify: (publicKey: Uint8Array<ArrayBuffer>) => Promise<boolean>,
  ): Promise<LoginOutcome> {
    return this.#attempts.run(name, () =>
      this.#attempt(name, async (stored) => {
        const key = stored === undefined ? undefined : parsePublicKey(stored);
        if (key !== undefined) return await verify(key);
        await verify(DUMMY_PUBLIC_KEY);
        return false;
      }));
  }

  async #attempt(
    name: string,
    check: (stored: string | undefined, accounts: Map<string, string>) => Promise<boolean>,
  ): Promise<LoginOutcome> {
    const { loginAttempts, clock, attempts, blockMs } = this.#options;
    const rules = () => ({ now: clock.now(), attempts, blockMs });
    // A name no device can have is never counted nor blocked; it is checked all the same.
    const validName = deviceNameProblem(name) === undefined;
    let number = 0;
    if (validName) {
      // Reserved before the check: counted as a failure until the check succeeds, so a
      // check that never ends (its server died) cannot give an attempt back.
      const reservation = await loginAttempts.reserve(name, rules());
      // Refused before any hashing: a blocked name costs the server nothing.
      if (!reservation.granted) return blockedOutcome(name, reservation.until - clock.now());
      number = reservation.number;
    }
    const accounts = await this.#options.credentials.accounts();
    const stored = validName ? accounts.get(name) : undefined;
    if (await check(stored, accounts)) {
      await loginAttempts.succeeded(name);
      return { ok: true };
    }
    if (!validName) return badCredentials();
    // Durable before this attempt ends, so the next one for the name (queued behind it)
    // reads the block.
    const until = await loginAttempts.failed(name, number, rules());
    if (until === undefined) return badCredentials();
    return blockedOutcome(name, until - clock.now(), {
      seconds: Math.ceil(blockMs / 1000),
      failures: number,
    });
  }

  /**
   * The names whose last login failed and that are not blocked (yet), with their consecutive
   * failures and the time of the last one, the most recent first, at most `limit` of them
   * (the security page).
   */
  async recentFailures(limit: number): Promise<{ name: string; failures: number; at: number }[]> {
    const recent: FailedLogins[] = await this.#options.loginAttempts.recentFailures(limit);
    return recent.map(({ device, failures, at }) => ({ name: device, failures, at }));
  }

  /**
   * One scrypt check whatever `stored` is: a hash, plain text, a device key (which no
   * password opens) or no account at all.
   */
  async #check(
    stored: string | undefined,
    password: string,
    accounts: Map<string, string>,
  ): Promise<boolean> {
    if (stored !== undefined && isPasswordHash(stored)) return await this.#verify(stored, password);
    const dummy = this.#hasher.dummy(this.#dummyParams(accounts));
    if (stored === undefined || stored.startsWith(ED25519_PREFIX)) {
      await this.#verify(dummy, password);
      return false;
    }
    const [matches] = await Promise.all([
      this.#verify(stored, password),
      this.#verify(dummy, password),
    ]);
    return matches;
  }

  /**
   * The dummy check copies the cost of the file's own hashes (the most common parameter
   * set), so an unknown name takes as long as a known one; with no hashes in the file,
   * the configured profile.
   */
  #dummyParams(accounts: Map<string, string>): ScryptParams {
    if (this.#paramsFor?.accounts === accounts) return this.#paramsFor.params;
    const counts = new Map<string, { params: ScryptParams; count: number }>();
    for (const stored of accounts.values()) {
      if (!isPasswordHash(stored) || passwordHashProblem(stored)) continue;
      const { params } = parsePasswordHash(stored);
      const entry = counts.get(formatParams(params)) ?? { params, count: 0 };
      entry.count++;
      counts.set(formatParams(params), entry);
    }
    let params = this.#fallbackParams;
    let best = 0;
    for (const entry of counts.values()) {
      if (entry.count > best) [params, best] = [entry.params, entry.count];
    }
    this.#paramsFor = { accounts, params };
    return params;
  }
}

function badCredentials(): LoginOutcome {
  return { ok: false, code: "bad_credentials", message: BAD_CREDENTIALS_MESSAGE };
}

function blockedOutcome(
  name: string,
  remainingMs: number,
  started?: { seconds: number; failures: number },
): LoginOutcome {
  const seconds = Math.max(1, Math.ceil(remainingMs / 1000));
  return {
    ok: false,
    code: "blocked",
    message: `Too many failed logins: ${name} is blocked for ${seconds} s. Please try again later.`,
    ...(started && { blockStarted: started }),
  };
}
