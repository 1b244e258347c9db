import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ManualClock } from "../internal/clock.ts";
import {
  GROUP_COMMIT_MS,
  GROUP_COMMIT_MS_PER_CHANGE,
  MIGRATIONS,
  Store,
  type StoredFile,
  StoreError,
} from "./store.ts";

const FILE: StoredFile = {
  device: "watch1",
  fileID: 7,
  count: 3,
  sum: 12_345_678_901_234_567_890n,
  min: -5,
  max: 999_999_999_999_999,
  bytes: 42,
  uploadedAt: 1_700_000_000_000,
};

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
  const store = new Store(db.path);
  store.putFile(FILE);
  store.close();
  assert.equal(userVersion(db.path), MIGRATIONS.length);
  const again = new Store(db.path);
  assert.deepEqual(again.getFile("watch1", 7), FILE);
  again.close();
});

Deno.test("store: a missing file is created at the current version", async () => {
  await using db = await tempDb();
  new Store(db.path).close();
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
  const store = new Store(db.path);
  try {
    assert.deepEqual(store.getFile("watch1", 7), FILE);
    assert.equal(store.lockoutUntil("watch2"), 1234);
    // The tables of later versions work.
    assert.ok(store.addBlock("watch1", "watch2"));
    assert.equal(
      store.storeMessage(
        { recipient: "watch1", sender: "watch2", text: "hi", sentAt: 1 },
        { maxCount: 10, maxBytes: 100 },
      ),
      1,
    );
    store.beginUpload({ ...FILE, fileID: 8, ino: 5, logOffset: 0 });
    assert.equal(store.pendingUploads().length, 1);
  } finally {
    store.close();
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
  const store = new Store(db.path);
  try {
    assert.deepEqual(store.pendingMessages("watch2"), [
      { id: 1, sender: "watch1", text: "kept", sentAt: 99 },
    ]);
    assert.ok(store.isBlocked("watch1", "watch3"));
    assert.deepEqual(store.seenSince(500), ["watch3"]);
    assert.deepEqual(store.pendingUploads(), []);
    assert.deepEqual(store.pendingDeletes(), []);
  } finally {
    store.close();
  }
});

Deno.test("store: a migration that fails leaves the database at its old version", async () => {
  await using db = await tempDb();
  // Version 1 with a table that migration 2 wants to create: the step must roll back.
  oldDatabase(db.path, 1, (d) => d.exec("CREATE TABLE blocks (x TEXT)"));
  assert.throws(() => new Store(db.path), (e) => assertOneLine(e, /cannot open database/));
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
    () => new Store(db.path),
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
      () => new Store(db.path),
      (e) =>
        assertOneLine(e, /cannot open database .*iotnet\.db: .*not a database.*move the file away/),
    );
    assert.deepEqual(await Deno.readFile(db.path), content, "the file is left byte for byte");
    const names = [];
    for await (const entry of Deno.readDir(dirname(db.path))) names.push(entry.name);
    assert.deepEqual(names, ["iotnet.db"], "no journal files were made beside it");
  }
});

Deno.test("store: everything it keeps survives closing and reopening", async () => {
  await using db = await tempDb();
  const limits = { maxCount: 10, maxBytes: 1000 };
  {
    const store = new Store(db.path);
    store.putFile(FILE);
    store.setLockout("dev5", 9_999);
    store.storeMessage({ recipient: "watch2", sender: "watch1", text: "a", sentAt: 1 }, limits);
    store.storeMessage({ recipient: "watch2", sender: "watch3", text: "b", sentAt: 2 }, limits);
    store.addBlock("watch1", "watch3");
    store.markSeen("watch1", 10);
    store.beginUpload({ ...FILE, fileID: 8, ino: 77, logOffset: 120 });
    store.beginDelete({ device: "watch1", fileID: 9, count: 4, deletedAt: 11, logOffset: 0 });
    store.close();
  }
  const store = new Store(db.path);
  try {
    assert.deepEqual(store.listFiles(), [FILE]);
    assert.equal(store.lockoutUntil("dev5"), 9_999);
    assert.deepEqual(store.pendingMessages("watch2").map((m) => m.text), ["a", "b"]);
    assert.deepEqual(store.blockedBy("watch1"), new Set(["watch3"]));
    assert.deepEqual(store.blockersOf("watch3"), new Set(["watch1"]));
    assert.deepEqual(store.seenSince(10), ["watch1"]);
    assert.deepEqual(store.pendingUpload("watch1", 8), {
      ...FILE,
      fileID: 8,
      ino: 77,
      logOffset: 120,
    });
    assert.deepEqual(store.pendingDeletes(), [
      { device: "watch1", fileID: 9, count: 4, deletedAt: 11, logOffset: 0 },
    ]);
  } finally {
    store.close();
  }
});

Deno.test("store: beginDelete and finishUpload change the record and the journal together", () => {
  const store = new Store(":memory:");
  try {
    store.putFile(FILE);
    const pending = { device: "watch1", fileID: 7, count: 3, deletedAt: 5, logOffset: 0 };
    assert.equal(store.beginDelete(pending), true);
    assert.equal(store.getFile("watch1", 7), undefined);
    assert.deepEqual(store.pendingDelete("watch1", 7), pending);
    store.dropPendingDelete("watch1", 7);
    assert.deepEqual(store.pendingDeletes(), []);
    store.beginUpload({ ...FILE, ino: null, logOffset: 3 });
    assert.equal(store.pendingUpload("watch1", 7)?.ino, null);
    store.dropPendingUpload("watch1", 7);
    assert.equal(store.pendingUpload("watch1", 7), undefined);
    store.beginUpload({ ...FILE, ino: 4, logOffset: 3 });
    store.finishUpload(FILE);
    assert.deepEqual(store.getFile("watch1", 7), FILE);
    assert.deepEqual(store.pendingUploads(), []);
  } finally {
    store.close();
  }
});

Deno.test("group commits go at once when alone, and are spaced by the size of the last", async () => {
  const dir = await Deno.makeTempDir();
  const clock = new ManualClock(1_000);
  const store = new Store(`${dir}/g.db`, clock);
  /** Whether `work` has committed once the clock has moved `ms`. */
  const committedAfter = async (done: { value: boolean }, ms: number) => {
    clock.advance(ms);
    await new Promise((resolve) => setTimeout(resolve, 0));
    return done.value;
  };
  const group = (n: number, tag: string) => {
    const done = { value: false };
    const all = Array.from(
      { length: n },
      (_, i) => store.grouped(() => store.addBlock(tag, `${i}`)),
    );
    void Promise.all(all).then(() => (done.value = true));
    return done;
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
    assert.equal(store.blockedBy("c").size, 30, "every change of the big group is in");
    // Long after the last commit, the next one goes at once again.
    clock.advance(10 * GROUP_COMMIT_MS);
    assert.equal(await committedAfter(group(1, "e"), 0), true);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("grouped work shares one commit; a failing piece rolls back alone", async () => {
  const dir = await Deno.makeTempDir();
  const store = new Store(`${dir}/g.db`);
  try {
    const ok = store.grouped(() => store.addBlock("a", "b"));
    const bad = store.grouped(() => {
      store.addBlock("a", "c");
      throw new Error("boom");
    });
    const also = store.grouped(() => store.addBlock("a", "d"));
    assert.equal(await ok, true);
    await assert.rejects(bad, /boom/);
    assert.equal(await also, true);
    assert.deepEqual([...store.blockedBy("a")].sort(), ["b", "d"]);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
