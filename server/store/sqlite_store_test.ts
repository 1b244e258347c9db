import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ManualClock } from "../../internal/clock.ts";
import { StoreError } from "./store_error.ts";
import { GROUP_COMMIT_MS, GROUP_COMMIT_MS_PER_CHANGE } from "./group_commit.ts";
import { MIGRATIONS } from "./migrations.ts";
import { openSqliteStore } from "./sqlite_store.ts";
import { SAMPLE_FILE, testStoreContract } from "./store_contract.ts";

testStoreContract({
  name: "SQLite",
  async location() {
    const dir = await Deno.makeTempDir({ prefix: "iotnet-store-" });
    return {
      open: (options) =>
        Promise.resolve(openSqliteStore(join(dir, "iotnet.db"), undefined, options)),
      [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
    };
  },
});

const FILE = SAMPLE_FILE;

async function tempDb(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "iotnet-store-" });
  return {
    path: join(dir, "iotnet.db"),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

function userVersion(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
  } finally {
    db.close();
  }
}

/** A database as an older iotnet left it: the first `version` migrations applied. */
function oldDatabase(path: string, version: number, fill: (db: DatabaseSync) => void): void {
  const db = new DatabaseSync(path);
  try {
    for (let v = 0; v < version; v++) db.exec(MIGRATIONS[v]!);
    db.exec(`PRAGMA user_version = ${version}`);
    fill(db);
  } finally {
    db.close();
  }
}

function assertOneLine(error: unknown, pattern: RegExp): boolean {
  assert.ok(error instanceof StoreError, `not a StoreError: ${error}`);
  assert.equal(error.name, "StoreError");
  assert.doesNotMatch(error.message, /\n/);
  assert.match(error.message, pattern);
  return true;
}

Deno.test("store: an empty file is migrated to the current schema and then holds data", async () => {
  await using db = await tempDb();
  await Deno.writeFile(db.path, new Uint8Array(0));
  const store = openSqliteStore(db.path);
  await store.files.put(FILE);
  await store.close();
  assert.equal(userVersion(db.path), MIGRATIONS.length);
  const again = openSqliteStore(db.path);
  assert.deepEqual(await again.files.get("watch1", 7), FILE);
  await again.close();
});

Deno.test("store: a missing file is created at the current version", async () => {
  await using db = await tempDb();
  await openSqliteStore(db.path).close();
  assert.equal(userVersion(db.path), MIGRATIONS.length);
});

Deno.test("store: a version 1 database is upgraded and keeps its files and lockouts", async () => {
  await using db = await tempDb();
  oldDatabase(db.path, 1, (d) => {
    d.prepare(
      `INSERT INTO files (device, file_id, samples, sum, min, max, bytes, uploaded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run("watch1", 7, 3, FILE.sum.toString(), -5, FILE.max, 42, FILE.uploadedAt);
    d.prepare("INSERT INTO lockouts (device, until) VALUES (?, ?)").run("watch2", 1234);
  });
  const store = openSqliteStore(db.path);
  try {
    assert.deepEqual(await store.files.get("watch1", 7), FILE);
    assert.equal(await store.lockouts.until("watch2"), 1234);
    // The tables of later versions work.
    assert.ok(await store.blocks.add("watch1", "watch2"));
    assert.deepEqual(
      await store.mailbox.add(
        { recipient: "watch1", sender: "watch2", text: "hi", sentAt: 1 },
        { maxCount: 10, maxBytes: 100, maxCountPerSender: 10, maxBytesPerSender: 100 },
      ),
      { id: 1 },
    );
    await store.files.beginUpload({ ...FILE, fileID: 8, ino: 5, logOffset: 0 });
    assert.equal((await store.files.pendingUploads()).length, 1);
  } finally {
    await store.close();
  }
  assert.equal(userVersion(db.path), MIGRATIONS.length);
});

Deno.test("store: a version 3 database is upgraded; its files have no plot summary", async () => {
  await using db = await tempDb();
  oldDatabase(db.path, 3, (d) => {
    d.prepare(
      `INSERT INTO files (device, file_id, samples, sum, min, max, bytes, uploaded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run("watch1", 7, 3, FILE.sum.toString(), -5, FILE.max, 42, FILE.uploadedAt);
  });
  const store = openSqliteStore(db.path);
  try {
    assert.deepEqual(await store.files.get("watch1", 7), FILE);
    assert.equal(await store.files.plot("watch1", 7), undefined);
    const plot = { width: 1, count: 1, min: [2], max: [2] };
    await store.files.put({ ...FILE, fileID: 8, plot });
    assert.deepEqual(await store.files.plot("watch1", 8), plot);
  } finally {
    await store.close();
  }
  assert.equal(userVersion(db.path), MIGRATIONS.length);
});

Deno.test("store: a version 6 database is upgraded; a journalled upload keeps all but its plot summary", async () => {
  // Version 7 stopped journalling plot summaries: recovery makes them again from the file
  // (server/file_commits.ts), so a row journalled before the upgrade loses nothing else.
  await using db = await tempDb();
  oldDatabase(db.path, 6, (d) => {
    d.prepare(
      `INSERT INTO pending_uploads
         (device, file_id, samples, sum, min, max, bytes, uploaded_at, ino, log_offset, plot)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      "watch1",
      7,
      3,
      FILE.sum.toString(),
      -5,
      FILE.max,
      42,
      FILE.uploadedAt,
      11,
      120,
      JSON.stringify({ width: 1, count: 3, min: [1, 2, 3], max: [1, 2, 3] }),
    );
  });
  const store = openSqliteStore(db.path);
  try {
    assert.deepEqual(await store.files.pendingUploads(), [{ ...FILE, ino: 11, logOffset: 120 }]);
  } finally {
    await store.close();
  }
  assert.equal(userVersion(db.path), MIGRATIONS.length);
});

Deno.test("store: a version 2 database is upgraded and keeps messages, blocks and history", async () => {
  await using db = await tempDb();
  oldDatabase(db.path, 2, (d) => {
    d.prepare(
      "INSERT INTO messages (recipient, sender, text, sent_at) VALUES (?, ?, ?, ?)",
    ).run("watch2", "watch1", "kept", 99);
    d.prepare("INSERT INTO blocks (blocker, blocked) VALUES (?, ?)").run("watch1", "watch3");
    d.prepare("INSERT INTO presence_history (device, last_seen) VALUES (?, ?)").run("watch3", 500);
  });
  const store = openSqliteStore(db.path);
  try {
    assert.deepEqual(await store.mailbox.pending("watch2"), [
      { id: 1, sender: "watch1", text: "kept", sentAt: 99 },
    ]);
    assert.ok(await store.blocks.isBlocked("watch1", "watch3"));
    assert.deepEqual(await store.presenceHistory.seenSince(500), ["watch3"]);
    assert.deepEqual(await store.files.pendingUploads(), []);
    assert.deepEqual(await store.files.pendingDeletes(), []);
  } finally {
    await store.close();
  }
});

Deno.test("store: a migration that fails leaves the database at its old version", async () => {
  await using db = await tempDb();
  // Version 1 with a table that migration 2 wants to create: the step must roll back.
  oldDatabase(db.path, 1, (d) => d.exec("CREATE TABLE blocks (x TEXT)"));
  assert.throws(() => openSqliteStore(db.path), (e) => assertOneLine(e, /cannot open database/));
  assert.equal(userVersion(db.path), 1);
  const db2 = new DatabaseSync(db.path, { readOnly: true });
  const tables = db2.prepare("SELECT name FROM sqlite_master WHERE name = 'messages'").all();
  db2.close();
  assert.deepEqual(tables, [], "the failed step's other tables were rolled back");
});

Deno.test("store: a database from a newer iotnet is refused with a one-line reason", async () => {
  await using db = await tempDb();
  oldDatabase(db.path, MIGRATIONS.length, (d) => {
    d.exec(`PRAGMA user_version = ${MIGRATIONS.length + 5}`);
  });
  const before = await Deno.readFile(db.path);
  assert.throws(
    () => openSqliteStore(db.path),
    (e) =>
      assertOneLine(
        e,
        new RegExp(
          `schema version ${MIGRATIONS.length + 5}, newer than this iotnet's ${MIGRATIONS.length}`,
        ),
      ),
  );
  assert.deepEqual(await Deno.readFile(db.path), before);
  assert.equal(userVersion(db.path), MIGRATIONS.length + 5);
});

Deno.test("store: a file that is not a database is refused and never replaced", async () => {
  await using db = await tempDb();
  for (
    const content of [
      crypto.getRandomValues(new Uint8Array(8192)),
      new TextEncoder().encode("watch1 pw1\nwatch2 pw2\n".repeat(40)),
    ]
  ) {
    await Deno.writeFile(db.path, content);
    assert.throws(
      () => openSqliteStore(db.path),
      (e) =>
        assertOneLine(e, /cannot open database .*iotnet\.db: .*not a database.*move the file away/),
    );
    assert.deepEqual(await Deno.readFile(db.path), content, "the file is left byte for byte");
    const names = [];
    for await (const entry of Deno.readDir(dirname(db.path))) names.push(entry.name);
    assert.deepEqual(names, ["iotnet.db"], "no journal files were made beside it");
  }
});

Deno.test("group commits go at once when alone, and are spaced by the size of the last", async () => {
  const dir = await Deno.makeTempDir();
  const clock = new ManualClock(1_000);
  const store = openSqliteStore(`${dir}/g.db`, clock);
  const promises: Promise<unknown>[] = [];
  /** `n` changes tagged `tag`, made at once. */
  const group = (n: number, tag: string) => {
    for (let i = 0; i < n; i++) promises.push(store.blocks.add(tag, `${i}`));
    return { tag, n };
  };
  /**
   * Whether a group has committed once the clock has moved `ms`. The work of a change
   * runs when its group commits (the promise settles later, once the WAL is synced), so
   * the rows are there exactly when the commit has happened.
   */
  const committedAfter = async (changes: { tag: string; n: number }, ms: number) => {
    clock.advance(ms);
    const rows = (await store.blocks.blockedBy(changes.tag)).size;
    assert.ok(rows === 0 || rows === changes.n, "a group commits whole");
    return rows === changes.n;
  };
  try {
    assert.equal(await committedAfter(group(1, "a"), 0), true, "a lone change goes at once");
    // The last commit carried one change: the next waits GROUP_COMMIT_MS_PER_CHANGE.
    const pair = group(2, "b");
    assert.equal(await committedAfter(pair, GROUP_COMMIT_MS_PER_CHANGE - 1), false);
    assert.equal(await committedAfter(pair, 1), true);
    // Thirty at once: the next waits the most, GROUP_COMMIT_MS.
    const many = group(30, "c");
    assert.equal(await committedAfter(many, 2 * GROUP_COMMIT_MS_PER_CHANGE), true);
    const next = group(1, "d");
    assert.equal(await committedAfter(next, GROUP_COMMIT_MS - 1), false, "waits for the window");
    assert.equal(await committedAfter(next, 1), true);
    // Long after the last commit, the next one goes at once again.
    clock.advance(10 * GROUP_COMMIT_MS);
    assert.equal(await committedAfter(group(1, "e"), 0), true);
    assert.ok((await Promise.all(promises)).every((added) => added === true), "all durable");
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("grouped work shares one commit; a failing piece rolls back alone", async () => {
  const dir = await Deno.makeTempDir();
  const store = openSqliteStore(`${dir}/g.db`);
  try {
    await store.files.put(FILE);
    const ok = store.blocks.add("a", "b");
    // Forgets the record, then fails to journal a count that is not an integer.
    const bad = store.files.beginDelete({
      device: FILE.device,
      fileID: FILE.fileID,
      count: 1.5,
      deletedAt: 1,
      logOffset: 0,
    });
    const also = store.blocks.add("a", "d");
    const [added, , alsoAdded] = await Promise.all([ok, assert.rejects(bad, /REAL/), also]);
    assert.equal(added, true);
    assert.equal(alsoAdded, true);
    assert.deepEqual([...await store.blocks.blockedBy("a")].sort(), ["b", "d"]);
    assert.deepEqual(
      await store.files.get(FILE.device, FILE.fileID),
      FILE,
      "the delete rolled back",
    );
    assert.deepEqual(await store.files.pendingDeletes(), []);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every write waits for a group commit, none commits on its own", async () => {
  await using db = await tempDb();
  const store = openSqliteStore(db.path);
  const { files, lockouts, mailbox, blocks, presenceHistory } = store;
  // A second connection sees only what has been committed.
  const reader = new DatabaseSync(db.path, { readOnly: true });
  const tables = [
    "files",
    "lockouts",
    "messages",
    "blocks",
    "presence_history",
    "pending_uploads",
    "pending_deletes",
  ];
  const committed = () =>
    Object.fromEntries(
      tables.map((
        t,
      ) => [t, (reader.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n]),
    );
  const none = Object.fromEntries(tables.map((t) => [t, 0]));
  const limits = { maxCount: 10, maxBytes: 100, maxCountPerSender: 10, maxBytesPerSender: 100 };
  try {
    // Every kind of write that adds a row, issued in one task.
    const adds = Promise.all([
      files.put(FILE),
      lockouts.set("dev5", 9_999),
      mailbox.add({ recipient: "watch2", sender: "watch1", text: "a", sentAt: 1 }, limits),
      blocks.add("watch1", "watch3"),
      presenceHistory.markSeen("watch1", 10),
      files.beginUpload({ ...FILE, fileID: 8, ino: 77, logOffset: 0 }),
      files.beginUpload({ ...FILE, fileID: 10, ino: 78, logOffset: 0 }),
      files.beginDelete({ device: "watch1", fileID: 9, count: 4, deletedAt: 11, logOffset: 0 }),
    ]);
    assert.deepEqual(committed(), none, "nothing is committed before the group");
    const [, , stored] = await adds;
    const all = {
      files: 1,
      lockouts: 1,
      messages: 1,
      blocks: 1,
      presence_history: 1,
      pending_uploads: 2,
      pending_deletes: 1,
    };
    assert.deepEqual(committed(), all, "all of it once the group is durable");
    // Every kind of write that removes or changes rows.
    assert.ok(stored !== undefined && "id" in stored);
    const removals = Promise.all([
      files.remove(FILE.device, FILE.fileID),
      lockouts.clear("dev5"),
      mailbox.remove("watch2", stored.id),
      blocks.remove("watch1", "watch3"),
      files.finishUpload({ ...FILE, fileID: 8 }),
      files.dropPendingUpload("watch1", 10),
      files.dropPendingDelete("watch1", 9),
    ]);
    assert.deepEqual(committed(), all, "nothing is removed before the group");
    await removals;
    assert.deepEqual(committed(), { ...none, files: 1, presence_history: 1 });
  } finally {
    reader.close();
    await store.close();
  }
});

Deno.test("store: a version 5 database is upgraded with totals of what it holds", async () => {
  await using db = await tempDb();
  oldDatabase(db.path, 5, (d) => {
    const file = d.prepare(
      `INSERT INTO files (device, file_id, samples, sum, min, max, bytes, uploaded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    file.run("watch1", 7, 3, "6", 1, 3, 42, 1);
    file.run("watch2", 1, 10, "10", 1, 1, 100, 1);
    const message = d.prepare(
      "INSERT INTO messages (recipient, sender, text, sent_at) VALUES (?, ?, ?, ?)",
    );
    for (const text of ["a", "b", "c"]) message.run("watch2", "watch1", text, 1);
  });
  const store = openSqliteStore(db.path);
  try {
    assert.deepEqual(await store.files.totals(), { files: 2, samples: 13, bytes: 142 });
    assert.equal(await store.mailbox.waiting(), 3);
    // And kept from there on.
    await store.files.remove("watch2", 1);
    assert.deepEqual(await store.files.totals(), { files: 1, samples: 3, bytes: 42 });
  } finally {
    await store.close();
  }
});
