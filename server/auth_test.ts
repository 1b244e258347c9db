import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ManualClock } from "../internal/clock.ts";
import { encodeMessage } from "../protocol/codec.ts";
import {
  Authenticator,
  type AuthenticatorOptions,
  BAD_CREDENTIALS_MESSAGE,
  type LoginOutcome,
} from "./auth.ts";
import {
  HASH_PROFILES,
  hashPassword,
  parsePasswordHash,
  PasswordHasher,
  type ScryptParams,
} from "./password_hash.ts";
import type { Lockouts } from "./store/interfaces.ts";
import { localLoginAttempts, MAX_TRACKED_NAMES } from "./store/local_login_attempts.ts";
import { openSqliteStore } from "./store/sqlite_store.ts";

const fast = HASH_PROFILES.fast;
const standard = HASH_PROFILES.standard;
const HASHED_FAST = await hashPassword("pw1", fast);
const HASHED_STANDARD = await hashPassword("pw1", standard);

/** Lockouts in a map: the store's contract without SQLite. */
class MapLockouts implements Lockouts {
  readonly entries = new Map<string, number>();
  until(device: string): Promise<number | undefined> {
    return Promise.resolve(this.entries.get(device));
  }
  set(device: string, until: number): Promise<void> {
    this.entries.set(device, until);
    return Promise.resolve();
  }
  clear(device: string): Promise<void> {
    this.entries.delete(device);
    return Promise.resolve();
  }
  current(now: number, limit: number): Promise<{ device: string; until: number }[]> {
    const running = [...this.entries].filter(([, until]) => until > now)
      .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
      .map(([device, until]) => ({ device, until }));
    return Promise.resolve(running.slice(0, limit));
  }
  async running(now: number, limit: number): Promise<number> {
    return (await this.current(now, limit)).length;
  }
}

/** The hasher the tests check with. */
const hasher = new PasswordHasher();

interface Harness {
  auth: Authenticator;
  clock: ManualClock;
  lockouts: MapLockouts;
  /** Every stored value a password was checked against, in order. */
  checked: string[];
}

function harness(
  accounts: Record<string, string>,
  options: Partial<AuthenticatorOptions> & { hashParams?: ScryptParams } = {},
): Harness {
  const clock = new ManualClock(1_000_000);
  const lockouts = new MapLockouts();
  const checked: string[] = [];
  const map = new Map(Object.entries(accounts));
  const auth = new Authenticator({
    credentials: { accounts: () => Promise.resolve(map) },
    loginAttempts: localLoginAttempts(lockouts),
    clock,
    attempts: 3,
    blockMs: 10_000,
    hashParams: fast,
    verify: (stored, password) => {
      checked.push(stored);
      return hasher.verify(stored, password);
    },
    ...options,
  });
  return { auth, clock, lockouts, checked };
}

/** The reply frame the session would send for an outcome, for a fixed request id. */
function replyBytes(outcome: LoginOutcome): Uint8Array {
  assert.equal(outcome.ok, false);
  if (outcome.ok) throw new Error("unreachable");
  return encodeMessage({
    t: "res",
    id: 7,
    ok: false,
    error: outcome.code,
    message: outcome.message,
  });
}

const paramsOf = (token: string) => parsePasswordHash(token).params;

Deno.test("the right password logs in, for hashed and plain accounts alike", async () => {
  const { auth } = harness({ watch1: HASHED_FAST, watch2: "pw2" });
  assert.deepEqual(await auth.login("watch1", "pw1"), { ok: true });
  assert.deepEqual(await auth.login("watch2", "pw2"), { ok: true });
});

Deno.test("an unknown name gets the reply bytes of a wrong password after the same scrypt check", async () => {
  const { auth, checked } = harness({ watch1: HASHED_FAST });
  const wrong = await auth.login("watch1", "nope");
  assert.deepEqual(checked, [HASHED_FAST]);
  const unknown = await auth.login("nobody", "nope");
  assert.equal(checked.length, 2);
  assert.match(checked[1]!, /^scrypt\$/);
  assert.notEqual(checked[1], HASHED_FAST);
  assert.deepEqual(paramsOf(checked[1]!), paramsOf(HASHED_FAST));
  assert.deepEqual(unknown, wrong);
  assert.deepEqual(replyBytes(unknown), replyBytes(wrong));
  assert.deepEqual(wrong, { ok: false, code: "bad_credentials", message: BAD_CREDENTIALS_MESSAGE });
});

Deno.test("the dummy check copies the file's own hash cost, or the configured one", async () => {
  const copied = harness({ a: HASHED_STANDARD, b: HASHED_STANDARD, c: HASHED_FAST, d: "pw" });
  await copied.auth.login("nobody", "x");
  assert.deepEqual(paramsOf(copied.checked[0]!), standard);
  const configured = harness({ a: "pw" }, { hashParams: { N: 2048, r: 8, p: 1 } });
  await configured.auth.login("nobody", "x");
  assert.deepEqual(paramsOf(configured.checked[0]!), { N: 2048, r: 8, p: 1 });
});

Deno.test("a plain-text account costs one scrypt check too, so it cannot be told from others", async () => {
  const { auth, checked } = harness({ watch2: "pw2" });
  assert.equal((await auth.login("watch2", "nope")).ok, false);
  assert.equal(checked.filter((s) => s.startsWith("scrypt$")).length, 1);
  assert.ok(checked.includes("pw2"));
});

Deno.test("a blocked name is refused without hashing, even with the right password", async () => {
  const { auth, checked, clock, lockouts } = harness({ watch1: HASHED_FAST });
  for (const expected of ["bad_credentials", "bad_credentials", "blocked"]) {
    const outcome = await auth.login("watch1", "nope");
    assert.equal(outcome.ok ? "ok" : outcome.code, expected);
  }
  assert.equal(checked.length, 3);
  const until = lockouts.entries.get("watch1");
  assert.equal(until, clock.now() + 10_000);

  clock.advance(4_000);
  const right = await auth.login("watch1", "pw1");
  assert.ok(!right.ok && right.code === "blocked");
  assert.match(right.message, /watch1 is blocked for 6 s/);
  for (let i = 0; i < 10; i++) await auth.login("watch1", "nope");
  assert.equal(checked.length, 3, "no hashing while blocked");
  assert.equal(lockouts.entries.get("watch1"), until, "failures during a block do not extend it");

  clock.advance(6_000);
  assert.deepEqual(await auth.login("watch1", "pw1"), { ok: true });
  assert.equal(lockouts.entries.get("watch1"), undefined);
});

Deno.test("after a block ends the count starts again from zero", async () => {
  const { auth, clock } = harness({ watch1: HASHED_FAST });
  for (let i = 0; i < 3; i++) await auth.login("watch1", "nope");
  clock.advance(10_000);
  const codes = [];
  for (let i = 0; i < 3; i++) {
    const outcome = await auth.login("watch1", "nope");
    codes.push(outcome.ok ? "ok" : outcome.code);
  }
  assert.deepEqual(codes, ["bad_credentials", "bad_credentials", "blocked"]);
});

Deno.test("a success resets the count of failures", async () => {
  const { auth } = harness({ watch1: HASHED_FAST });
  await auth.login("watch1", "nope");
  await auth.login("watch1", "nope");
  assert.deepEqual(await auth.login("watch1", "pw1"), { ok: true });
  const next = await auth.login("watch1", "nope");
  assert.ok(!next.ok && next.code === "bad_credentials");
});

Deno.test("unknown names are counted and blocked like known ones", async () => {
  const { auth, lockouts } = harness({ watch1: HASHED_FAST });
  const known: string[] = [];
  const unknown: string[] = [];
  for (let i = 0; i < 3; i++) {
    const a = await auth.login("watch1", "nope");
    const b = await auth.login("ghost", "nope");
    known.push(a.ok ? "ok" : a.code);
    unknown.push(b.ok ? "ok" : b.code);
  }
  assert.deepEqual(unknown, known);
  assert.ok(lockouts.entries.get("ghost") !== undefined);
});

Deno.test("parallel guesses for one name cannot overshoot the attempts", async () => {
  const { auth, checked } = harness({ watch1: HASHED_FAST });
  const outcomes = await Promise.all(
    Array.from({ length: 20 }, () => auth.login("watch1", "nope")),
  );
  assert.equal(checked.length, 3, "only three guesses were checked");
  const codes = outcomes.map((o) => o.ok ? "ok" : o.code);
  assert.deepEqual(codes.slice(0, 3), ["bad_credentials", "bad_credentials", "blocked"]);
  assert.ok(codes.slice(3).every((c) => c === "blocked"));
  // The right password, arriving after the guesses, is refused too.
  assert.equal((await auth.login("watch1", "pw1")).ok, false);
});

Deno.test("with the real store, whose lockout waits for a group commit, parallel guesses still stop at the attempts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "iotnet-auth-" });
  const store = openSqliteStore(join(dir, "iotnet.db"));
  const reader = new DatabaseSync(join(dir, "iotnet.db"), { readOnly: true });
  try {
    const { auth, checked, clock } = harness({ watch1: HASHED_FAST }, {
      loginAttempts: store.loginAttempts,
    });
    // The right password among the guesses, after the third: it must not get in.
    const passwords = Array.from({ length: 12 }, (_, i) => i === 5 ? "pw1" : "nope");
    const outcomes = await Promise.all(
      passwords.map(async (password) => {
        const outcome = await auth.login("watch1", password);
        if (!outcome.ok && outcome.code === "blocked") {
          // Told "blocked" only once the lockout is durable (a restart keeps it).
          const row = reader.prepare("SELECT until FROM lockouts WHERE device = ?")
            .get("watch1") as { until: number } | undefined;
          assert.equal(row?.until, clock.now() + 10_000);
        }
        return outcome.ok ? "ok" : outcome.code;
      }),
    );
    assert.equal(checked.length, 3, "only three guesses were checked");
    assert.deepEqual(outcomes.slice(0, 3), ["bad_credentials", "bad_credentials", "blocked"]);
    assert.ok(outcomes.slice(3).every((c) => c === "blocked"), outcomes.join(" "));
  } finally {
    reader.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("different names are checked in parallel, one name in order", async () => {
  const started: string[] = [];
  const release = Promise.withResolvers<void>();
  const { auth } = harness({ a: "pw", b: "pw" }, {
    verify: async (stored, password) => {
      started.push(password);
      await release.promise;
      return stored === password;
    },
  });
  const logins = [auth.login("a", "a1"), auth.login("b", "b1"), auth.login("a", "a2")];
  await new Promise((resolve) => setTimeout(resolve, 10));
  // Each check of a plain account also runs the dummy check: two calls per attempt.
  assert.deepEqual(started, ["a1", "a1", "b1", "b1"], "b ran beside a; a's second waited");
  release.resolve();
  await Promise.all(logins);
  assert.deepEqual(started.slice(4), ["a2", "a2"]);
});

Deno.test("an invalid name is never blocked and gets the same reply", async () => {
  const { auth, lockouts, checked } = harness({ watch1: HASHED_FAST });
  for (const name of ["../etc/passwd", "", "x".repeat(40), "a b"]) {
    for (let i = 0; i < 4; i++) {
      const outcome = await auth.login(name, "nope");
      assert.deepEqual(outcome, {
        ok: false,
        code: "bad_credentials",
        message: BAD_CREDENTIALS_MESSAGE,
      });
    }
    assert.equal(lockouts.entries.get(name), undefined);
  }
  assert.equal(checked.length, 16, "every attempt did the same scrypt check");
});

Deno.test("failure counts of a flood of made-up names stay bounded", async () => {
  const { auth } = harness({}, { attempts: 2, verify: () => Promise.resolve(false) });
  await auth.login("victim", "nope");
  for (let i = 0; i < MAX_TRACKED_NAMES; i++) await auth.login(`n${i}`, "x");
  // The victim's single failure was forgotten, so this is its first again.
  const outcome = await auth.login("victim", "nope");
  assert.ok(!outcome.ok && outcome.code === "bad_credentials");
});

Deno.test("with real hashes, an unknown name takes as long as a wrong password", async () => {
  const { auth } = harness(
    Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`dev${i}`, HASHED_STANDARD])),
    { attempts: 5, verify: (stored, password) => hasher.verify(stored, password) },
  );
  const time = async (name: string) => {
    const start = performance.now();
    await auth.login(name, "nope");
    return performance.now() - start;
  };
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  await time("dev0"); // warm up
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 1; i < 12; i++) {
    known.push(await time(`dev${i}`));
    unknown.push(await time(`ghost${i}`));
  }
  const [k, u] = [median(known), median(unknown)];
  // Loose bounds for a busy machine; without the dummy check the gap would be a thousandfold.
  assert.ok(u > k / 3 && u < k * 3, `wrong password ${k} ms, unknown name ${u} ms`);
});

Deno.test("recent failed logins: by name, the most recent first, bounded; success and blocks drop a name", async () => {
  const { auth, clock } = harness({ watch1: "pw1", watch2: "pw2" });
  await auth.login("watch1", "nope");
  clock.advance(1_000);
  await auth.login("ghost", "nope");
  clock.advance(1_000);
  await auth.login("watch2", "nope");
  clock.advance(1_000);
  await auth.login("watch1", "nope");
  await auth.login("<b>", "nope"); // not a name any device can have: not counted
  assert.deepEqual(await auth.recentFailures(10), [
    { name: "watch1", failures: 2, at: 1_003_000 },
    { name: "watch2", failures: 1, at: 1_002_000 },
    { name: "ghost", failures: 1, at: 1_001_000 },
  ]);
  assert.deepEqual((await auth.recentFailures(1)).map((f) => f.name), ["watch1"]);
  assert.deepEqual(await auth.recentFailures(0), []);
  await auth.login("watch2", "pw2");
  await auth.login("watch1", "nope"); // the third failure: blocked, no longer a failure count
  assert.deepEqual((await auth.recentFailures(10)).map((f) => f.name), ["ghost"]);
});
