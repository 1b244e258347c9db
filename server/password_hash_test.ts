import assert from "node:assert/strict";
import {
  HASH_BYTES,
  HASH_PROFILE_ENV,
  HASH_PROFILES,
  hashParamsFromEnv,
  hashPassword,
  hashProfile,
  InvalidHashError,
  isPasswordHash,
  MAX_HASH_TOKEN_CHARS,
  parsePasswordHash,
  PasswordHasher,
  passwordHashProblem,
  SALT_BYTES,
} from "./password_hash.ts";

const fast = HASH_PROFILES.fast;
const standard = HASH_PROFILES.standard;

/** The hasher the tests check with (a server makes one of its own). */
const hasher = new PasswordHasher();

Deno.test("a hash is one scrypt token without spaces, salted afresh each time", async () => {
  const a = await hashPassword("pw1", standard);
  const b = await hashPassword("pw1", standard);
  for (const token of [a, b]) {
    assert.match(token, /^scrypt\$N=16384,r=8,p=1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    assert.doesNotMatch(token, /\s/);
    const parsed = parsePasswordHash(token);
    assert.deepEqual(parsed.params, { N: 16384, r: 8, p: 1 });
    assert.equal(parsed.salt.length, SALT_BYTES);
    assert.equal(parsed.hash.length, HASH_BYTES);
  }
  assert.notEqual(a, b);
  assert.notDeepEqual(parsePasswordHash(a).salt, parsePasswordHash(b).salt);
});

Deno.test("a hasher verifies exactly the hashed password", async () => {
  for (const password of ["pw1", "pässwörd ✓", " lead and trail ", "x".repeat(128), ""]) {
    const token = await hashPassword(password, fast);
    assert.equal(await hasher.verify(token, password), true, JSON.stringify(password));
    for (const wrong of [password + "x", password.slice(1), password.toUpperCase() + "!"]) {
      if (wrong === password) continue;
      assert.equal(await hasher.verify(token, wrong), false, JSON.stringify(wrong));
    }
  }
  const strong = await hashPassword("pw1", standard);
  assert.equal(await hasher.verify(strong, "pw1"), true);
  assert.equal(await hasher.verify(strong, "pw2"), false);
});

Deno.test("plain-text entries still work and compare whole values only", async () => {
  assert.equal(await hasher.verify("pw1", "pw1"), true);
  for (const wrong of ["pw", "pw12", "PW1", "", "pw1\u0000"]) {
    assert.equal(await hasher.verify("pw1", wrong), false, JSON.stringify(wrong));
  }
  assert.equal(isPasswordHash("pw1"), false);
  assert.equal(isPasswordHash("scrypt$anything"), true);
  // A plain password that merely contains "scrypt" is plain.
  assert.equal(await hasher.verify("myscrypt$pw", "myscrypt$pw"), true);
});

Deno.test("malformed hash tokens are refused with a reason that never repeats the token", async () => {
  const good = await hashPassword("pw1", fast);
  const [, params, salt, hash] = good.split("$") as [string, string, string, string];
  const cases: [string, RegExp][] = [
    ["scrypt$", /not of the form/],
    [`scrypt$${params}$${salt}`, /not of the form/],
    [`scrypt$${params}$${salt}$${hash}$extra`, /not of the form/],
    [`scrypt$N=16384;r=8;p=1$${salt}$${hash}`, /parameters are not/],
    [`scrypt$r=8,N=16384,p=1$${salt}$${hash}`, /parameters are not/],
    [`scrypt$N=1000,r=8,p=1$${salt}$${hash}`, /power of two/],
    [`scrypt$N=0,r=8,p=1$${salt}$${hash}`, /power of two/],
    [`scrypt$N=2097152,r=8,p=1$${salt}$${hash}`, /power of two/],
    [`scrypt$N=1024,r=0,p=1$${salt}$${hash}`, /r must be/],
    [`scrypt$N=1024,r=8,p=99$${salt}$${hash}`, /p must be/],
    [`scrypt$N=1048576,r=8,p=1$${salt}$${hash}`, /more than .* bytes of memory/],
    [`scrypt$${params}$$${hash}`, /salt is not base64/],
    [`scrypt$${params}$${salt.slice(1)}$${hash}`, /salt is not base64/],
    [`scrypt$${params}$${salt}$${hash.replace(/.$/, "!")}`, /hash is not base64/],
    [`scrypt$${params}$AAAA$${hash}`, /salt must be/],
    [`scrypt$${params}$${salt}$AAAA`, /value must be/],
    [`scrypt$${params}$${salt}$${"A".repeat(MAX_HASH_TOKEN_CHARS)}`, /longer than/],
  ];
  for (const [token, pattern] of cases) {
    assert.throws(() => parsePasswordHash(token), (e: unknown) => {
      assert.ok(e instanceof InvalidHashError, token);
      assert.match(e.message, pattern, token);
      assert.ok(!e.message.includes(salt) && !e.message.includes(hash), "echoes the token");
      return true;
    });
    assert.match(passwordHashProblem(token) ?? "", pattern);
    assert.equal(await hasher.verify(token, "pw1"), false, token);
  }
  assert.equal(passwordHashProblem(good), undefined);
});

Deno.test("the dummy hash is well-formed, stable per parameter set, and matches nothing", async () => {
  const dummy = hasher.dummy(fast);
  assert.equal(passwordHashProblem(dummy), undefined);
  assert.deepEqual(parsePasswordHash(dummy).params, fast);
  assert.equal(hasher.dummy(fast), dummy);
  assert.notEqual(hasher.dummy(standard), dummy);
  for (const guess of ["", "pw1", "dummy", "\u0000unknown"]) {
    assert.equal(await hasher.verify(dummy, guess), false);
  }
});

Deno.test("checking the dummy hash costs what checking a real hash costs", async () => {
  const real = await hashPassword("pw1", standard);
  const dummy = hasher.dummy(standard);
  const time = async (token: string) => {
    const start = performance.now();
    await hasher.verify(token, "wrong");
    return performance.now() - start;
  };
  await time(real); // warm up
  // Interleaved, so a busy machine (other test files running at once) slows all three alike,
  // and the fastest of each: the cost of the work itself, which other load only adds to.
  const times = { real: [] as number[], dummy: [] as number[], plain: [] as number[] };
  for (let i = 0; i < 7; i++) {
    times.real.push(await time(real));
    times.dummy.push(await time(dummy));
    times.plain.push(await time("pw1"));
  }
  const realMs = Math.min(...times.real);
  const dummyMs = Math.min(...times.dummy);
  const plainMs = Math.min(...times.plain);
  // Loose bounds for a busy machine; without the dummy the gap would be a thousandfold.
  assert.ok(dummyMs > realMs / 3 && dummyMs < realMs * 3, `real ${realMs} ms, dummy ${dummyMs} ms`);
  assert.ok(plainMs < realMs / 3, `plain ${plainMs} ms is not cheap next to scrypt ${realMs} ms`);
});

Deno.test("hashing runs off the event loop's thread: timers fire while it works", async () => {
  const hashing = Promise.all(
    Array.from({ length: 4 }, () => hashPassword("pw", standard)),
  ).then(() => "hash");
  const timer = new Promise<string>((resolve) => setTimeout(() => resolve("timer"), 0));
  assert.equal(await Promise.race([hashing, timer]), "timer");
  let ticks = 0;
  const interval = setInterval(() => ticks++, 5);
  await hashing;
  clearInterval(interval);
  assert.ok(ticks >= 2, `only ${ticks} timer ticks while hashing`);
});

Deno.test("more hashes than slots all complete", async () => {
  const tokens = await Promise.all(
    Array.from({ length: 12 }, (_, i) => hasher.hash(`pw${i}`, fast)),
  );
  const checks = await Promise.all(tokens.map((t, i) => hasher.verify(t, `pw${i}`)));
  assert.ok(checks.every((ok) => ok));
});

Deno.test("profiles are named in one place and chosen by the environment", () => {
  assert.deepEqual(hashProfile("standard"), { N: 16384, r: 8, p: 1 });
  assert.deepEqual(hashProfile("fast"), { N: 1024, r: 8, p: 1 });
  assert.throws(() => hashProfile("turbo"), /unknown password hash profile "turbo"; use one of/);
  assert.throws(() => hashProfile("toString"), RangeError);
  const saved = Deno.env.get(HASH_PROFILE_ENV);
  try {
    Deno.env.delete(HASH_PROFILE_ENV);
    assert.deepEqual(hashParamsFromEnv(), standard);
    Deno.env.set(HASH_PROFILE_ENV, "fast");
    assert.deepEqual(hashParamsFromEnv(), fast);
    Deno.env.set(HASH_PROFILE_ENV, "nope");
    assert.throws(() => hashParamsFromEnv(), RangeError);
  } finally {
    if (saved === undefined) Deno.env.delete(HASH_PROFILE_ENV);
    else Deno.env.set(HASH_PROFILE_ENV, saved);
  }
});

Deno.test("hashPassword refuses parameters out of range", async () => {
  await assert.rejects(hashPassword("pw", { N: 1000, r: 8, p: 1 }), InvalidHashError);
  await assert.rejects(hashPassword("pw", { N: 2 ** 21, r: 8, p: 1 }), InvalidHashError);
});
