/**
 * Login checking and throttling (SPEC §1, §6). Consecutive failures are counted per
 * device name, whatever connection or address they come from; at `attempts` failures the
 * name is blocked for `blockMs`, recorded in the store so a restart keeps it. The reply
 * never tells an unknown name from a wrong password, and failures during a block do not
 * extend it.
 *
 * @module
 */

import type { Clock } from "../internal/clock.ts";
import { deviceNameProblem } from "../protocol/limits.ts";
import { type CredentialsFile, secretsEqual } from "./credentials.ts";
import type { Store } from "./store.ts";

/** The result of one login attempt. */
export type LoginOutcome =
  | { ok: true }
  | { ok: false; code: "bad_credentials" | "blocked"; message: string };

/** Options of {@linkcode Authenticator}. */
export interface AuthenticatorOptions {
  credentials: CredentialsFile;
  store: Store;
  clock: Clock;
  /** Consecutive failures that block a name (1..5). */
  attempts: number;
  /** How long a block lasts. */
  blockMs: number;
}

/** The one reply for an unknown name and a wrong password alike. */
export const BAD_CREDENTIALS_MESSAGE = "Invalid name or password. Please try again.";

/** Checks logins and keeps the failure counts. */
export class Authenticator {
  readonly #options: AuthenticatorOptions;
  readonly #failures = new Map<string, number>();

  constructor(options: AuthenticatorOptions) {
    this.#options = options;
  }

  /** Checks one attempt for `name` and updates its failure count. */
  async login(name: string, password: string): Promise<LoginOutcome> {
    const { store, clock, attempts, blockMs } = this.#options;
    const until = store.lockoutUntil(name);
    if (until !== undefined) {
      if (until > clock.now()) return blockedOutcome(name, until - clock.now());
      store.clearLockout(name);
    }
    const accounts = await this.#options.credentials.accounts();
    const stored = deviceNameProblem(name) ? undefined : accounts.get(name);
    // Compare against something even for unknown names, so both cost the same.
    const matches = secretsEqual(stored ?? "\u0000unknown", password) && stored !== undefined;
    if (matches) {
      this.#failures.delete(name);
      return { ok: true };
    }
    if (deviceNameProblem(name)) return badCredentials();
    const failures = (this.#failures.get(name) ?? 0) + 1;
    if (failures >= attempts) {
      this.#failures.delete(name);
      store.setLockout(name, clock.now() + blockMs);
      return blockedOutcome(name, blockMs);
    }
    this.#failures.set(name, failures);
    return badCredentials();
  }
}

function badCredentials(): LoginOutcome {
  return { ok: false, code: "bad_credentials", message: BAD_CREDENTIALS_MESSAGE };
}

function blockedOutcome(name: string, remainingMs: number): LoginOutcome {
  const seconds = Math.max(1, Math.ceil(remainingMs / 1000));
  return {
    ok: false,
    code: "blocked",
    message: `Too many failed logins: ${name} is blocked for ${seconds} s. Please try again later.`,
  };
}
