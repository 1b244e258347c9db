import assert from "node:assert/strict";
import { join } from "node:path";
import {
  MAX_CREDENTIALS_LINE_BYTES,
  parseCredentials,
  parseCredentialsBytes,
  withAccountLine,
} from "./credentials_format.ts";
import { CredentialsFile } from "./credentials_file.ts";
import {
  AccountExistsError,
  appendAccount,
  CREDENTIALS_FILE_MODE,
  setAccount,
} from "./credentials_writer.ts";
import { Disk } from "./disk.ts";
import { HASH_PROFILES, hashPassword } from "./password_hash.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

const HASH = await hashPassword("hashed-secret", HASH_PROFILES.fast);

Deno.test("well-formed plain and hashed lines become accounts", () => {
  const { accounts, problems } = parseCredentials(`watch1 pw1\nwatch2 ${HASH}\nw.3_x-Y p@ss!`);
  assert.deepEqual(problems, []);
  assert.deepEqual([...accounts], [["watch1", "pw1"], ["watch2", HASH], ["w.3_x-Y", "p@ss!"]]);
});

/** Secrets in the malformed lines below: none may appear in a problem report. */
const SECRET = "s3cret";

const MALFORMED: [what: string, line: string, problem: RegExp][] = [
  ["a blank line", "", /^blank line$/],
  ["a line of spaces", "   ", /^blank line$/],
  ["no separator", `watch9${SECRET}`, /has no space between name and password/],
  ["two spaces", `watch9  ${SECRET}`, /more than one space/],
  ["a space in the password", `watch9 ${SECRET} more`, /more than one space/],
  ["a leading space", ` watch9 ${SECRET}`, /more than one space/],
  ["a tab separator", `watch9\t${SECRET}`, /has no space/],
  ["CRLF", `watch9 ${SECRET}\r`, /carriage return \(CRLF/],
  ["an over-long name", `${"n".repeat(33)} ${SECRET}`, /longer than 32 characters/],
  ["a name with a path", `../etc ${SECRET}`, /may hold only letters/],
  ["a name with a slash", `a/b ${SECRET}`, /may hold only letters/],
  ["an over-long password", `watch9 ${SECRET}${"x".repeat(200)}`, /longer than 128 bytes/],
  [
    "an over-long line",
    `watch9 ${SECRET}${"x".repeat(MAX_CREDENTIALS_LINE_BYTES)}`,
    new RegExp(`is longer than ${MAX_CREDENTIALS_LINE_BYTES} bytes`),
  ],
  ["an empty password", "watch9 ", /empty password/],
  ["a control character", `watch9 ${SECRET}\u0007`, /control character/],
  ["an invalid hash token", `watch9 scrypt$N=16384,r=8,p=1$${SECRET}`, /invalid password hash/],
  [
    "a hash with bad parameters",
    `watch9 ${HASH.replace("N=1024", "N=1000")}`,
    /invalid password hash \(hash parameter N must be a power of two/,
  ],
  ["a truncated hash", `watch9 ${HASH.slice(0, -6)}`, /invalid password hash/],
  ["a duplicate name", `watch1 ${SECRET}`, /repeats the name watch1; the first line for it counts/],
];

Deno.test("every kind of malformed line is reported by line number and never becomes an account", () => {
  for (const [what, line, problem] of MALFORMED) {
    const parsed = parseCredentials(`watch1 pw1\n${line}\nwatch2 pw2\n`);
    assert.deepEqual([...parsed.accounts.keys()], ["watch1", "watch2"], what);
    assert.equal(parsed.accounts.get("watch1"), "pw1", what);
    assert.equal(parsed.problems.length, 1, what);
    assert.equal(parsed.problems[0]!.line, 2, what);
    assert.match(parsed.problems[0]!.problem, problem, what);
    assert.ok(!parsed.problems[0]!.problem.includes(SECRET), `${what}: echoes the password`);
  }
});

Deno.test("a line that is not UTF-8 is refused alone; the lines around it still count", () => {
  const data = new Uint8Array([
    ...bytes("watch1 pw1\n"),
    ...bytes("watch9 pw"),
    0xff,
    0xfe,
    ...bytes("\n"),
    ...bytes("watch2 pw2"),
  ]);
  const { accounts, problems } = parseCredentialsBytes(data);
  assert.deepEqual([...accounts.keys()], ["watch1", "watch2"]);
  assert.deepEqual(problems, [{ line: 2, problem: "is not valid UTF-8" }]);
  // A NUL in valid UTF-8 is an ordinary bad line, not mistaken for bad UTF-8.
  assert.match(parseCredentialsBytes(bytes("\u0000\n")).problems[0]!.problem, /no space/);
  // An over-long line is refused before it is decoded.
  const long = parseCredentialsBytes(new Uint8Array(MAX_CREDENTIALS_LINE_BYTES + 1).fill(0xff));
  assert.match(long.problems[0]!.problem, /is longer than/);
});

Deno.test("CredentialsFile reports file:line problems without passwords and re-reads on change", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "credentials.txt");
  const lines = MALFORMED.map(([, line]) => line);
  await Deno.writeTextFile(path, ["watch1 pw1", ...lines].join("\n") + "\n");
  const reports: string[] = [];
  const file = new CredentialsFile(path, {
    disk: new Disk(),
    onProblem: (line) => reports.push(line),
  });
  const first = await file.accounts();
  assert.deepEqual([...first.keys()], ["watch1"]);
  assert.equal(reports.length, MALFORMED.length);
  reports.forEach((report, i) => {
    assert.ok(report.startsWith(`${path}:${i + 2}: `), report);
    assert.ok(report.endsWith("; line ignored"), report);
    assert.ok(!report.includes(SECRET), `echoes a password: ${report}`);
    assert.ok(!report.includes(HASH.split("$")[3]!), `echoes a hash: ${report}`);
  });
  assert.equal(await file.accounts(), first, "unchanged file: same map, no re-parse");
  assert.equal(reports.length, MALFORMED.length, "unchanged file: no new reports");

  // Replaced by a same-size file (as `iotnet passwd` does): still noticed.
  const temp = `${path}.tmp`;
  await Deno.writeTextFile(temp, "watch1 pw2\n");
  await Deno.rename(temp, path);
  await Deno.writeTextFile(temp, "watch1 pw3\n");
  await Deno.rename(temp, path);
  assert.equal((await file.accounts()).get("watch1"), "pw3");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("CredentialsFile: callers asking at once share one look at the file; later ones see changes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "credentials.txt");
    await Deno.writeTextFile(path, "watch1 pw1\n");
    const file = new CredentialsFile(path, { disk: new Disk(), onProblem: () => {} });
    const stat = Deno.stat;
    let stats = 0;
    Deno.stat = (p) => {
      stats++;
      return stat(p);
    };
    try {
      const maps = await Promise.all(Array.from({ length: 100 }, () => file.accounts()));
      assert.equal(stats, 1);
      assert.ok(maps.every((m) => m === maps[0] && m.get("watch1") === "pw1"));
      await Deno.writeTextFile(path, "watch1 pw1\nwatch2 pw2\n");
      assert.equal((await file.accounts()).get("watch2"), "pw2");
      assert.equal(stats, 2);
    } finally {
      Deno.stat = stat;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("appendAccount adds one line, adding the missing newline first", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "credentials.txt");
  await Deno.writeTextFile(path, "watch1 pw1");
  await appendAccount(path, "watch2", HASH);
  await appendAccount(path, "watch3", "pw3");
  assert.equal(await Deno.readTextFile(path), `watch1 pw1\nwatch2 ${HASH}\nwatch3 pw3\n`);
  const { accounts, problems } = parseCredentials(await Deno.readTextFile(path));
  assert.deepEqual(problems, []);
  assert.equal(accounts.get("watch2"), HASH);

  // A missing file is created, readable by its owner only.
  const fresh = join(dir, "new.txt");
  await appendAccount(fresh, "watch1", HASH);
  assert.equal(await Deno.readTextFile(fresh), `watch1 ${HASH}\n`);
  assert.equal((await Deno.stat(fresh)).mode! & 0o777, CREDENTIALS_FILE_MODE);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("appendAccount refuses a name that exists and lines the server would refuse", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "credentials.txt");
  await Deno.writeTextFile(path, "watch1 pw1\n");
  await assert.rejects(appendAccount(path, "watch1", "other"), AccountExistsError);
  for (
    const [name, token] of [
      ["../x", "pw"],
      ["", "pw"],
      ["watch2", "two words"],
      ["watch2", ""],
      ["watch2", "pw\nwatch3 pw"],
      ["watch2", "scrypt$broken"],
    ]
  ) {
    await assert.rejects(appendAccount(path, name!, token!), (e: unknown) => {
      assert.ok(e instanceof RangeError, `${name} ${token}`);
      assert.match(e.message, /^cannot write the account line: it /);
      assert.ok(token!.length < 3 || !e.message.includes(token!), e.message);
      return true;
    });
  }
  assert.equal(await Deno.readTextFile(path), "watch1 pw1\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("concurrent appends never lose or duplicate a line", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "credentials.txt");
  await Deno.writeTextFile(path, "watch1 pw1\n");
  const names = Array.from({ length: 20 }, (_, i) => `dev${i}`);
  await Promise.all(names.map((n) => appendAccount(path, n, `pw-${n}`)));
  // Twenty registrations of one name: exactly one wins.
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, (_, i) => appendAccount(path, "racer", `pw${i}`)),
  );
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
  assert.ok(
    results.every((r) => r.status === "fulfilled" || r.reason instanceof AccountExistsError),
  );
  const { accounts, problems } = parseCredentials(await Deno.readTextFile(path));
  assert.deepEqual(problems, []);
  assert.equal(accounts.size, 22);
  for (const n of names) assert.equal(accounts.get(n), `pw-${n}`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("withAccountLine replaces the first line of a name, drops repeats, keeps the rest byte for byte", () => {
  const before = new Uint8Array([
    ...bytes("watch1 old\n"),
    ...bytes("# comment-ish junk\n"),
    0xff,
    ...bytes(" not utf8\n"),
    ...bytes("watch10 keep\n"),
    ...bytes("watch1 repeat\r\n"),
    ...bytes("watch2 pw2"),
  ]);
  const result = withAccountLine(before, "watch1", "watch1 new");
  assert.equal(result.replaced, true);
  assert.equal(result.removedDuplicates, 1);
  assert.deepEqual(
    result.bytes,
    new Uint8Array([
      ...bytes("watch1 new\n# comment-ish junk\n"),
      0xff,
      ...bytes(" not utf8\nwatch10 keep\nwatch2 pw2\n"),
    ]),
  );
  const added = withAccountLine(bytes("watch1 pw1"), "watch3", "watch3 pw3");
  assert.equal(added.replaced, false);
  assert.equal(text(added.bytes), "watch1 pw1\nwatch3 pw3\n");
  assert.equal(text(withAccountLine(new Uint8Array(0), "a", "a b").bytes), "a b\n");
  // A bare name or a CRLF line for the name counts as its line.
  assert.equal(
    text(withAccountLine(bytes("watch1\r\nx y\n"), "watch1", "watch1 z").bytes),
    "watch1 z\nx y\n",
  );
});

Deno.test("setAccount replaces atomically, keeps permissions and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "credentials.txt");
  await Deno.writeTextFile(path, "watch1 pw1\nwatch2 pw2\n", { mode: 0o640 });
  await Deno.chmod(path, 0o640);
  assert.deepEqual(await setAccount(path, "watch1", HASH), {
    replaced: true,
    removedDuplicates: 0,
  });
  assert.deepEqual(await setAccount(path, "watch3", "pw3"), {
    replaced: false,
    removedDuplicates: 0,
  });
  assert.equal(await Deno.readTextFile(path), `watch1 ${HASH}\nwatch2 pw2\nwatch3 pw3\n`);
  assert.equal((await Deno.stat(path)).mode! & 0o777, 0o640);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["credentials.txt"]);
  await assert.rejects(setAccount(path, "bad/name", "pw"), RangeError);

  const fresh = join(dir, "fresh.txt");
  await setAccount(fresh, "watch1", HASH);
  assert.equal((await Deno.stat(fresh)).mode! & 0o777, CREDENTIALS_FILE_MODE);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("setAccount and appendAccount running together lose nothing", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "credentials.txt");
  await Deno.writeTextFile(path, "watch1 pw1\n");
  await Promise.all([
    ...Array.from({ length: 10 }, (_, i) => appendAccount(path, `new${i}`, `pw${i}`)),
    ...Array.from({ length: 10 }, (_, i) => setAccount(path, "watch1", `v${i}`)),
  ]);
  const { accounts, problems } = parseCredentials(await Deno.readTextFile(path));
  assert.deepEqual(problems, []);
  assert.equal(accounts.size, 11);
  assert.match(accounts.get("watch1")!, /^v\d$/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an ed25519$ line is a device key; a malformed key is refused by line number", () => {
  const key = `ed25519$${btoa(String.fromCharCode(...new Uint8Array(32).fill(7)))}`;
  const { accounts, problems } = parseCredentials(
    `sensor1 ${key}\nsensor2 ed25519$short\nsensor3 ed25519$${"A".repeat(44)}\n`,
  );
  assert.equal(accounts.get("sensor1"), key);
  assert.deepEqual(problems.map((p) => p.line), [2, 3]);
  assert.match(problems[0]!.problem, /invalid device key/);
});
