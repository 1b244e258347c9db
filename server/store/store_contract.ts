/**
 * The behaviour every {@linkcode Store} implementation must have, written once against
 * the interfaces and run against each implementation: `sqlite_store_test.ts` runs it
 * over SQLite as tests of their own, `tests/postgres_store_test.ts` over PostgreSQL as
 * steps of one test (which starts and stops the throwaway PostgreSQL around them).
 * Nothing here knows SQL.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type MailboxLimits,
  MAX_PRESENCE_VISITS_KEPT,
  type Store,
  type StoredFile,
  type StoreOptions,
} from "./interfaces.ts";

/** Where an implementation keeps one store, which the suite opens, closes and reopens. */
export interface StoreLocation extends AsyncDisposable {
  /** Opens the store kept here (empty the first time), with `options` given. */
  open(options?: StoreOptions): Promise<Store>;
}

/** An implementation under test. */
export interface StoreImplementation {
  /** Named in each test's name. */
  name: string;
  /** A fresh, empty location; disposing of it removes everything it kept. */
  location(): Promise<StoreLocation>;
}

/** A file record with a sum past 2^64, a negative minimum and a 15-digit maximum. */
export const SAMPLE_FILE: StoredFile = {
  device: "watch1",
  fileID: 7,
  count: 3,
  // The sum is exact, whatever the database's integer types.
  sum: 12_345_678_901_234_567_890n,
  min: -5,
  max: 999_999_999_999_999,
  bytes: 42,
  uploadedAt: 1_700_000_000_000,
};

const ROOMY: MailboxLimits = {
  maxCount: 1000,
  maxBytes: 1_000_000,
  maxCountPerSender: 1000,
  maxBytesPerSender: 1_000_000,
};

/** One behaviour of the contract, on a freshly opened, empty store. */
interface ContractCase {
  name: string;
  body: (store: Store, location: StoreLocation) => Promise<void>;
}

/**
 * Registers the contract's cases as tests of their own (`Deno.test`) for `implementation`.
 *
 * @param implementation how to get fresh stores of the implementation.
 */
export function testStoreContract(implementation: StoreImplementation): void {
  for (const { name, body } of contractCases()) {
    Deno.test(
      `store contract (${implementation.name}): ${name}`,
      () => runCase(implementation, body),
    );
  }
}

/**
 * Runs the contract's cases as steps of the test `t`, for an implementation whose stores
 * need something that lives as long as the test (a database server).
 *
 * @param t the running test.
 * @param implementation how to get fresh stores of the implementation.
 */
export async function stepStoreContract(
  t: Deno.TestContext,
  implementation: StoreImplementation,
): Promise<void> {
  for (const { name, body } of contractCases()) {
    await t.step(name, () => runCase(implementation, body));
  }
}

/** Runs `body` on a fresh store, closed and removed afterwards. */
async function runCase(
  implementation: StoreImplementation,
  body: ContractCase["body"],
): Promise<void> {
  await using location = await implementation.location();
  const store = await location.open();
  try {
    await body(store, location);
  } finally {
    await store.close();
  }
}

/** The contract's cases, made afresh for each caller (nothing is kept at module level). */
function contractCases(): ContractCase[] {
  const cases: ContractCase[] = [];
  /** Adds a case to the contract. */
  function contract(name: string, body: ContractCase["body"]): void {
    cases.push({ name, body });
  }

  contract("a file record is kept whole, replaced by a new one, and removed", async (store) => {
    const { files } = store;
    assert.equal(await files.get("watch1", 7), undefined);
    await files.put(SAMPLE_FILE);
    assert.deepEqual(await files.get("watch1", 7), SAMPLE_FILE);
    assert.equal(await files.get("watch1", 8), undefined);
    assert.equal(await files.get("watch2", 7), undefined);
    const replaced = {
      ...SAMPLE_FILE,
      count: 1,
      sum: -3n,
      min: -3,
      max: -3,
      bytes: 3,
      uploadedAt: 5,
    };
    await files.put(replaced);
    assert.deepEqual(await files.get("watch1", 7), replaced);
    assert.equal(await files.remove("watch1", 7), true);
    assert.equal(await files.get("watch1", 7), undefined);
    assert.equal(await files.remove("watch1", 7), false);
  });

  contract("a file's plot summary is stored with its record and read alone", async (store) => {
    const { files } = store;
    const plot = { width: 2, count: 3, min: [-5, 0], max: [999_999_999_999_999, 0] };
    await files.put({ ...SAMPLE_FILE, plot });
    assert.deepEqual(await files.plot("watch1", 7), plot);
    // Reads of the record leave the plot out: SCS never reads it.
    assert.deepEqual(await files.get("watch1", 7), SAMPLE_FILE);
    assert.deepEqual(await files.list(), [SAMPLE_FILE]);
    assert.equal(await files.plot("watch1", 8), undefined);
    // A record replaced without one has none; a removed record's plot goes with it.
    await files.put(SAMPLE_FILE);
    assert.equal(await files.plot("watch1", 7), undefined);
    await files.put({ ...SAMPLE_FILE, plot });
    assert.equal(await files.remove("watch1", 7), true);
    assert.equal(await files.plot("watch1", 7), undefined);
  });

  contract(
    "an upload is journalled without its plot summary and finished with it, in its record",
    async (store) => {
      const { files } = store;
      const plot = { width: 1, count: 2, min: [1, -4_000], max: [1, -4_000] };
      await files.beginUpload({ ...SAMPLE_FILE, ino: 3, logOffset: 0 });
      const pending = await files.pendingUpload("watch1", 7);
      assert.deepEqual(pending, { ...SAMPLE_FILE, ino: 3, logOffset: 0 });
      assert.deepEqual(await files.pendingUploads(), [pending]);
      assert.equal(await files.plot("watch1", 7), undefined, "no record yet");
      // Recovery finishes an upload from its journal row and the plot made from the file.
      const { ino: _ino, logOffset: _offset, ...record } = pending!;
      assert.equal(await files.finishUpload({ ...record, plot }), true);
      assert.deepEqual(await files.plot("watch1", 7), plot);
      assert.deepEqual(await files.get("watch1", 7), SAMPLE_FILE);
      assert.deepEqual(await files.pendingUploads(), []);
    },
  );

  contract(
    "the file totals count every record, replaced ones once, removed ones not",
    async (store) => {
      const { files } = store;
      assert.deepEqual(await files.totals(), { files: 0, samples: 0, bytes: 0 });
      await files.put(SAMPLE_FILE);
      await files.put({ ...SAMPLE_FILE, device: "watch2", count: 10, bytes: 100 });
      assert.deepEqual(await files.totals(), { files: 2, samples: 13, bytes: 142 });
      // Replaced: its new samples and bytes, still one file.
      await files.put({ ...SAMPLE_FILE, count: 5, bytes: 50 });
      assert.deepEqual(await files.totals(), { files: 2, samples: 15, bytes: 150 });
      // An upload finished from its journal over an earlier record, and a new one.
      await files.beginUpload({ ...SAMPLE_FILE, count: 6, bytes: 60, ino: 1, logOffset: 0 });
      await files.finishUpload({ ...SAMPLE_FILE, count: 6, bytes: 60 });
      await files.beginUpload({
        ...SAMPLE_FILE,
        fileID: 8,
        count: 1,
        bytes: 2,
        ino: 2,
        logOffset: 0,
      });
      assert.deepEqual(
        await files.totals(),
        { files: 2, samples: 16, bytes: 160 },
        "journalled only",
      );
      await files.finishUpload({ ...SAMPLE_FILE, fileID: 8, count: 1, bytes: 2 });
      assert.deepEqual(await files.totals(), { files: 3, samples: 17, bytes: 162 });
      // Removed, and deleted through the journal; a record that is not there changes nothing.
      assert.equal(await files.remove("watch2", 7), true);
      await files.beginDelete({
        device: "watch1",
        fileID: 8,
        count: 1,
        deletedAt: 1,
        logOffset: 0,
      });
      await files.beginDelete({
        device: "watch1",
        fileID: 99,
        count: 1,
        deletedAt: 1,
        logOffset: 0,
      });
      assert.equal(await files.remove("watch2", 7), false);
      assert.deepEqual(await files.totals(), { files: 1, samples: 6, bytes: 60 });
    },
  );

  contract("records are listed by device, then file ID", async (store) => {
    const { files } = store;
    for (const [device, fileID] of [["watch2", 1], ["watch1", 10], ["watch1", 2], ["a", 0]]) {
      await files.put({ ...SAMPLE_FILE, device: device as string, fileID: fileID as number });
    }
    assert.deepEqual(
      (await files.list()).map((f) => `${f.device}/${f.fileID}`),
      ["a/0", "watch1/2", "watch1/10", "watch2/1"],
    );
    // One device's records, by file ID, bounded.
    assert.deepEqual((await files.ofDevice("watch1", 10)).map((f) => f.fileID), [2, 10]);
    assert.deepEqual((await files.ofDevice("watch1", 1)).map((f) => f.fileID), [2]);
    assert.deepEqual(await files.ofDevice("nobody", 10), []);
    // Its records in brief: how many, and the latest upload.
    await files.put({
      ...SAMPLE_FILE,
      device: "watch1",
      fileID: 3,
      uploadedAt: SAMPLE_FILE.uploadedAt + 5,
    });
    assert.deepEqual(await files.summaryOfDevice("watch1"), {
      files: 3,
      lastUploadAt: SAMPLE_FILE.uploadedAt + 5,
    });
    assert.deepEqual(await files.summaryOfDevice("nobody"), { files: 0, lastUploadAt: undefined });
  });

  contract("the records a store writes are of files its server holds", async (store) => {
    const { files } = store;
    await files.put({ ...SAMPLE_FILE, fileID: 9 });
    await files.put(SAMPLE_FILE);
    assert.deepEqual(await files.held(), [SAMPLE_FILE, { ...SAMPLE_FILE, fileID: 9 }]);
    assert.equal(await files.holds("watch1", 7), true);
    assert.equal(await files.holds("watch1", 8), false);
    await files.remove("watch1", 7);
    assert.equal(await files.holds("watch1", 7), false);
  });

  contract(
    "a journalled upload is kept whole, replaced, and finished with its record",
    async (store) => {
      const { files } = store;
      assert.equal(await files.pendingUpload("watch1", 7), undefined);
      await files.beginUpload({ ...SAMPLE_FILE, ino: null, logOffset: 3 });
      assert.deepEqual(await files.pendingUpload("watch1", 7), {
        ...SAMPLE_FILE,
        ino: null,
        logOffset: 3,
      });
      await files.beginUpload({ ...SAMPLE_FILE, count: 4, ino: 12, logOffset: 9 });
      assert.deepEqual(await files.pendingUploads(), [{
        ...SAMPLE_FILE,
        count: 4,
        ino: 12,
        logOffset: 9,
      }]);
      assert.equal(await files.get("watch1", 7), undefined, "journalling records nothing yet");
      assert.equal(await files.finishUpload({ ...SAMPLE_FILE, count: 4 }), true);
      assert.deepEqual(await files.get("watch1", 7), { ...SAMPLE_FILE, count: 4 });
      assert.deepEqual(await files.pendingUploads(), []);
    },
  );

  contract(
    "a journalled upload can be dropped alone, leaving the record as it was",
    async (store) => {
      const { files } = store;
      await files.put(SAMPLE_FILE);
      await files.beginUpload({ ...SAMPLE_FILE, count: 9, ino: 4, logOffset: 0 });
      await files.beginUpload({ ...SAMPLE_FILE, fileID: 8, ino: 5, logOffset: 0 });
      await files.dropPendingUpload("watch1", 7);
      await files.dropPendingUpload("watch1", 99);
      assert.deepEqual((await files.pendingUploads()).map((p) => p.fileID), [8]);
      assert.deepEqual(await files.get("watch1", 7), SAMPLE_FILE);
    },
  );

  contract("beginDelete forgets the record and journals the delete together", async (store) => {
    const { files } = store;
    await files.put(SAMPLE_FILE);
    const pending = { device: "watch1", fileID: 7, count: 3, deletedAt: 5, logOffset: 10 };
    assert.equal(await files.beginDelete(pending), true);
    assert.equal(await files.get("watch1", 7), undefined);
    assert.deepEqual(await files.pendingDelete("watch1", 7), pending);
    assert.deepEqual(await files.pendingDeletes(), [pending]);
    // A delete of a file with no record is journalled too, and says there was none.
    const other = { ...pending, fileID: 8 };
    assert.equal(await files.beginDelete(other), false);
    assert.deepEqual(await files.pendingDeletes(), [pending, other]);
    await files.dropPendingDelete("watch1", 7);
    assert.deepEqual(await files.pendingDeletes(), [other]);
    assert.equal(await files.pendingDelete("watch1", 7), undefined);
  });

  contract("a lockout is kept until cleared, and replaced by a new one", async (store) => {
    const { lockouts } = store;
    assert.equal(await lockouts.until("watch1"), undefined);
    await lockouts.set("watch1", 1_000);
    await lockouts.set("watch2", 2_000);
    assert.equal(await lockouts.until("watch1"), 1_000);
    await lockouts.set("watch1", 3_000);
    assert.equal(await lockouts.until("watch1"), 3_000);
    await lockouts.clear("watch1");
    await lockouts.clear("nobody");
    assert.equal(await lockouts.until("watch1"), undefined);
    // The running lockouts, the one that ends last first, bounded; ended ones are left out.
    await lockouts.set("watch3", 5_000);
    await lockouts.set("watch4", 5_000);
    assert.deepEqual(await lockouts.current(1_500, 10), [
      { device: "watch3", until: 5_000 },
      { device: "watch4", until: 5_000 },
      { device: "watch2", until: 2_000 },
    ]);
    assert.deepEqual(await lockouts.current(2_000, 1), [{ device: "watch3", until: 5_000 }]);
    assert.deepEqual(await lockouts.current(5_000, 10), []);
    assert.equal(await lockouts.until("watch2"), 2_000);
    // How many run, counted up to a limit.
    assert.equal(await lockouts.running(1_500, 10), 3);
    assert.equal(await lockouts.running(1_500, 1), 1);
    assert.equal(await lockouts.running(2_000, 10), 2);
    assert.equal(await lockouts.running(5_000, 10), 0);
  });

  contract(
    "attempts are reserved 1..attempts; the last holds the name and its failure blocks it",
    async (store) => {
      const { loginAttempts, lockouts } = store;
      const rules = { now: 1_000, attempts: 3, blockMs: 10_000 };
      for (const number of [1, 2]) {
        assert.deepEqual(await loginAttempts.reserve("watch1", rules), { granted: true, number });
        assert.equal(await loginAttempts.failed("watch1", number, rules), undefined);
      }
      assert.deepEqual(await loginAttempts.reserve("watch1", rules), { granted: true, number: 3 });
      // While the last attempt is checked, no other is: the name is held as by a block.
      assert.deepEqual(
        await loginAttempts.reserve("watch1", { ...rules, now: 1_500 }),
        { granted: false, until: 11_000 },
      );
      assert.equal(await loginAttempts.failed("watch1", 3, { ...rules, now: 2_000 }), 12_000);
      assert.equal(await lockouts.until("watch1"), 12_000, "the block is a lockout");
      assert.deepEqual(await lockouts.current(2_000, 10), [{ device: "watch1", until: 12_000 }]);
      // A name whose failures are only counted is not locked out.
      assert.equal(await lockouts.running(2_000, 10), 1);
      assert.deepEqual(
        await loginAttempts.reserve("watch1", { ...rules, now: 11_999 }),
        { granted: false, until: 12_000 },
      );
      // Once the block has ended the count starts again.
      assert.deepEqual(
        await loginAttempts.reserve("watch1", { ...rules, now: 12_000 }),
        { granted: true, number: 1 },
      );
      assert.deepEqual(await loginAttempts.reserve("watch2", rules), { granted: true, number: 1 });
    },
  );

  contract("a success forgets the name's failures, and a hold", async (store) => {
    const { loginAttempts } = store;
    const rules = { now: 1_000, attempts: 2, blockMs: 10_000 };
    await loginAttempts.reserve("watch1", rules);
    await loginAttempts.failed("watch1", 1, rules);
    assert.deepEqual(await loginAttempts.reserve("watch1", rules), { granted: true, number: 2 });
    await loginAttempts.succeeded("watch1");
    assert.deepEqual(await loginAttempts.reserve("watch1", rules), { granted: true, number: 1 });
    await loginAttempts.succeeded("watch1");
    await loginAttempts.succeeded("nobody");
    assert.equal(await store.lockouts.until("watch1"), undefined);
  });

  contract(
    "a hold whose check never ends lapses like a block, and the count starts again",
    async (store) => {
      const { loginAttempts } = store;
      const rules = { now: 1_000, attempts: 1, blockMs: 10_000 };
      assert.deepEqual(await loginAttempts.reserve("watch1", rules), { granted: true, number: 1 });
      // Its server died: neither failed nor succeeded comes.
      assert.deepEqual(
        await loginAttempts.reserve("watch1", { ...rules, now: 10_999 }),
        { granted: false, until: 11_000 },
      );
      assert.deepEqual(
        await loginAttempts.reserve("watch1", { ...rules, now: 11_000 }),
        { granted: true, number: 1 },
      );
    },
  );

  contract("attempts reserved at once never pass the allowance", async (store) => {
    const rules = { now: 1_000, attempts: 3, blockMs: 10_000 };
    const reservations = await Promise.all(
      Array.from({ length: 20 }, () => store.loginAttempts.reserve("watch1", rules)),
    );
    const granted = reservations.flatMap((r) => r.granted ? [r.number] : []);
    assert.deepEqual(granted.sort(), [1, 2, 3]);
    assert.ok(reservations.every((r) => r.granted || r.until === 11_000));
  });

  contract(
    "recent failures: names not blocked, the most recent first, bounded",
    async (store) => {
      const { loginAttempts } = store;
      const rules = { now: 1_000, attempts: 2, blockMs: 10_000 };
      const fail = async (device: string, now: number) => {
        const reservation = await loginAttempts.reserve(device, { ...rules, now });
        assert.ok(reservation.granted);
        await loginAttempts.failed(device, reservation.number, { ...rules, now });
      };
      await fail("watch1", 1_000);
      await fail("ghost", 2_000);
      await fail("watch2", 3_000);
      assert.deepEqual(await loginAttempts.recentFailures(10), [
        { device: "watch2", failures: 1, at: 3_000 },
        { device: "ghost", failures: 1, at: 2_000 },
        { device: "watch1", failures: 1, at: 1_000 },
      ]);
      assert.deepEqual(await loginAttempts.recentFailures(1), [
        { device: "watch2", failures: 1, at: 3_000 },
      ]);
      await fail("watch1", 4_000); // its second: blocked, no longer a failure count
      await loginAttempts.succeeded("watch2");
      assert.deepEqual(await loginAttempts.recentFailures(10), [
        { device: "ghost", failures: 1, at: 2_000 },
      ]);
    },
  );

  contract("messages wait for their recipient, oldest first, with growing ids", async (store) => {
    const { mailbox } = store;
    const ids: number[] = [];
    for (
      const [recipient, sender, text] of [["b", "a", "one"], ["c", "a", "x"], ["b", "c", "two"]]
    ) {
      const result = await mailbox.add(
        { recipient: recipient!, sender: sender!, text: text!, sentAt: ids.length },
        ROOMY,
      );
      assert.ok("id" in result);
      ids.push(result.id);
    }
    assert.ok(ids[0]! < ids[1]! && ids[1]! < ids[2]!);
    assert.deepEqual(await mailbox.pending("b"), [
      { id: ids[0], sender: "a", text: "one", sentAt: 0 },
      { id: ids[2], sender: "c", text: "two", sentAt: 2 },
    ]);
    assert.deepEqual(await mailbox.pending("nobody"), []);
  });

  contract("a message is removed only by its recipient", async (store) => {
    const { mailbox } = store;
    assert.equal(await mailbox.waiting(), 0);
    const result = await mailbox.add({ recipient: "b", sender: "a", text: "hi", sentAt: 1 }, ROOMY);
    assert.ok("id" in result);
    await mailbox.add({ recipient: "c", sender: "a", text: "yo", sentAt: 1 }, ROOMY);
    assert.equal(await mailbox.waiting(), 2, "every recipient's messages");
    assert.equal(await mailbox.remove("a", result.id), false);
    assert.equal((await mailbox.pending("b")).length, 1);
    assert.equal(await mailbox.remove("b", result.id), true);
    assert.equal(await mailbox.remove("b", result.id), false);
    assert.deepEqual(await mailbox.pending("b"), []);
    assert.equal(await mailbox.waiting(), 1);
    // A message a full mailbox refuses does not wait.
    const full = { ...ROOMY, maxCount: 1 };
    assert.deepEqual(
      await mailbox.add({ recipient: "c", sender: "b", text: "no", sentAt: 2 }, full),
      { full: "mailbox" },
    );
    assert.equal(await mailbox.waiting(), 1);
  });

  contract(
    "a sender's share of a mailbox is counted in messages and UTF-8 bytes",
    async (store) => {
      const { mailbox } = store;
      const limits = { maxCount: 10, maxBytes: 100, maxCountPerSender: 2, maxBytesPerSender: 8 };
      const send = (sender: string, text: string) =>
        mailbox.add({ recipient: "b", sender, text, sentAt: 1 }, limits);
      assert.ok("id" in await send("a", "é"));
      // "é" is 2 bytes: 2 + 7 passes the sender's 8.
      assert.deepEqual(await send("a", "1234567"), { full: "sender" });
      assert.ok("id" in await send("a", "123456"));
      assert.deepEqual(await send("a", "x"), { full: "sender" }, "two messages are the most");
      assert.ok("id" in await send("c", "x"), "another sender has a share of its own");
      // Reading frees the share.
      const [first] = await mailbox.pending("b");
      await mailbox.remove("b", first!.id);
      assert.ok("id" in await send("a", "x"));
    },
  );

  contract(
    "a full mailbox refuses every sender; the sender's share is checked first",
    async (store) => {
      const { mailbox } = store;
      const limits = { maxCount: 3, maxBytes: 10, maxCountPerSender: 2, maxBytesPerSender: 10 };
      const send = (sender: string, text: string) =>
        mailbox.add({ recipient: "b", sender, text, sentAt: 1 }, limits);
      assert.ok("id" in await send("a", "1"));
      assert.ok("id" in await send("c", "1"));
      assert.deepEqual(
        await send("d", "12345678901"),
        { full: "sender" },
        "over both: sender first",
      );
      assert.deepEqual(await send("d", "123456789"), { full: "mailbox" }, "10 bytes in all");
      assert.ok("id" in await send("d", "12345678"));
      assert.deepEqual(await send("e", "x"), { full: "mailbox" }, "3 messages in all");
      assert.equal((await mailbox.pending("b")).length, 3);
      assert.ok(
        "id" in await mailbox.add({ recipient: "z", sender: "e", text: "x", sentAt: 1 }, limits),
      );
    },
  );

  contract(
    "blocks go one way, are added and lifted once, and are listed both ways",
    async (store) => {
      const { blocks } = store;
      assert.equal(await blocks.add("a", "b"), true);
      assert.equal(await blocks.add("a", "b"), false, "already blocked");
      assert.equal(await blocks.add("c", "b"), true);
      assert.equal(await blocks.add("a", "d"), true);
      assert.equal(await blocks.isBlocked("a", "b"), true);
      assert.equal(await blocks.isBlocked("b", "a"), false);
      assert.deepEqual(await blocks.blockersOf("b"), new Set(["a", "c"]));
      assert.deepEqual(await blocks.blockedBy("a"), new Set(["b", "d"]));
      assert.deepEqual(await blocks.blockersOf("a"), new Set());
      assert.equal(await blocks.remove("a", "b"), true);
      assert.equal(await blocks.remove("a", "b"), false, "not blocked any more");
      assert.equal(await blocks.isBlocked("a", "b"), false);
      assert.deepEqual(await blocks.blockersOf("b"), new Set(["c"]));
    },
  );

  contract(
    "the presence history keeps each device's last time and lists by name",
    async (store) => {
      const { presenceHistory } = store;
      await presenceHistory.markSeen("watch2", 100);
      await presenceHistory.markSeen("watch1", 50);
      await presenceHistory.markSeen("watch3", 10);
      assert.deepEqual(await presenceHistory.seenSince(50), ["watch1", "watch2"]);
      await presenceHistory.markSeen("watch3", 60);
      await presenceHistory.markSeen("watch2", 20);
      assert.deepEqual(await presenceHistory.seenSince(50), ["watch1", "watch3"]);
      assert.deepEqual(await presenceHistory.seenSince(1_000), []);
      assert.equal(await presenceHistory.lastSeen("watch3"), 60);
      assert.equal(await presenceHistory.lastSeen("watch9"), undefined);
    },
  );

  contract(
    "the presence history keeps each device's visits, the latest first, ended once it left",
    async (store) => {
      const { presenceHistory } = store;
      await presenceHistory.recordVisit("watch1", {
        since: 100,
        until: null,
        reason: null,
        ip: "a",
      });
      await presenceHistory.recordVisit("watch2", {
        since: 150,
        until: null,
        reason: null,
        ip: "b",
      });
      await presenceHistory.recordVisit("watch1", {
        since: 100,
        until: 160,
        reason: "idle",
        ip: "a",
      });
      await presenceHistory.recordVisit("watch1", {
        since: 200,
        until: null,
        reason: null,
        ip: "c",
      });
      assert.deepEqual(await presenceHistory.visits("watch1", 10), [
        { since: 200, until: null, reason: null, ip: "c" },
        { since: 100, until: 160, reason: "idle", ip: "a" },
      ]);
      assert.deepEqual(await presenceHistory.visits("watch1", 1), [
        { since: 200, until: null, reason: null, ip: "c" },
      ]);
      assert.deepEqual(await presenceHistory.visits("watch2", 10), [
        { since: 150, until: null, reason: null, ip: "b" },
      ]);
      assert.deepEqual(await presenceHistory.visits("watch9", 10), []);
      // Seen at each visit's latest time, and never moved back.
      assert.equal(await presenceHistory.lastSeen("watch1"), 200);
      assert.deepEqual(await presenceHistory.seenSince(150), ["watch1", "watch2"]);
      // A logout that lands before its login (two connections of a pool) still ends the
      // visit: the login recorded after it does not open it again.
      await presenceHistory.recordVisit("dev5", {
        since: 300,
        until: 400,
        reason: "logout",
        ip: "d",
      });
      await presenceHistory.recordVisit("dev5", { since: 300, until: null, reason: null, ip: "d" });
      assert.deepEqual(await presenceHistory.visits("dev5", 10), [
        { since: 300, until: 400, reason: "logout", ip: "d" },
      ]);
      assert.equal(await presenceHistory.lastSeen("dev5"), 400);
    },
  );

  contract(
    `the presence history keeps a device's latest ${MAX_PRESENCE_VISITS_KEPT} visits`,
    async (store) => {
      const { presenceHistory } = store;
      await presenceHistory.recordVisit("watch2", {
        since: 1,
        until: 2,
        reason: "logout",
        ip: "b",
      });
      const extra = 5;
      await Promise.all(
        Array.from(
          { length: MAX_PRESENCE_VISITS_KEPT + extra },
          (_, i) =>
            presenceHistory.recordVisit("watch1", {
              since: 1_000 + i * 10,
              until: 1_005 + i * 10,
              reason: "logout",
              ip: "a",
            }),
        ),
      );
      const kept = await presenceHistory.visits("watch1", MAX_PRESENCE_VISITS_KEPT * 2);
      assert.equal(kept.length, MAX_PRESENCE_VISITS_KEPT);
      assert.equal(kept[0]!.since, 1_000 + (MAX_PRESENCE_VISITS_KEPT + extra - 1) * 10);
      assert.equal(kept.at(-1)!.since, 1_000 + extra * 10);
      assert.equal((await presenceHistory.visits("watch2", 10)).length, 1, "others keep theirs");
    },
  );

  contract(
    "the presence history answers with what was marked before the question, committed or not",
    async (store) => {
      // A device that has just left: its history is on its way to disk when a device asks.
      const marked = store.presenceHistory.markSeen("watch1", 100);
      assert.deepEqual(await store.presenceHistory.seenSince(50), ["watch1"]);
      await marked;
    },
  );

  contract(
    "each commit's time is told once it is durable, before the write is answered",
    async (store, location) => {
      await store.close();
      const seconds: number[] = [];
      const timed = await location.open({ commitSeconds: (s) => seconds.push(s) });
      try {
        for (
          const write of [
            () => timed.blocks.add("a", "b"),
            () => timed.files.put(SAMPLE_FILE),
            () => timed.lockouts.set("x", 1),
            () => timed.mailbox.add({ recipient: "b", sender: "a", text: "hi", sentAt: 1 }, ROOMY),
            () =>
              timed.presenceHistory.recordVisit("a", {
                since: 1,
                until: null,
                reason: null,
                ip: "a",
              }),
          ]
        ) {
          const before = seconds.length;
          await write();
          assert.ok(seconds.length > before, `${write} told no commit`);
        }
        assert.ok(seconds.every((s) => s >= 0 && s < 60), seconds.join(" "));
      } finally {
        await timed.close();
      }
    },
  );

  contract("writes made at once all land, each with its own answer", async (store) => {
    const answers = await Promise.all([
      store.blocks.add("a", "b"),
      store.blocks.add("a", "b"),
      store.files.put(SAMPLE_FILE),
      store.lockouts.set("x", 1),
      store.mailbox.add({ recipient: "b", sender: "a", text: "hi", sentAt: 1 }, ROOMY),
      store.presenceHistory.markSeen("a", 5),
    ]);
    assert.deepEqual(answers.slice(0, 2).sort(), [false, true]);
    assert.deepEqual(await store.files.list(), [SAMPLE_FILE]);
    assert.equal(await store.lockouts.until("x"), 1);
    assert.equal((await store.mailbox.pending("b")).length, 1);
    assert.deepEqual(await store.presenceHistory.seenSince(5), ["a"]);
  });

  contract("everything it keeps survives closing and reopening", async (store, location) => {
    await store.files.put(SAMPLE_FILE);
    await store.lockouts.set("dev5", 9_999);
    await store.mailbox.add({ recipient: "watch2", sender: "watch1", text: "a", sentAt: 1 }, ROOMY);
    await store.mailbox.add({ recipient: "watch2", sender: "watch3", text: "b", sentAt: 2 }, ROOMY);
    await store.blocks.add("watch1", "watch3");
    await store.presenceHistory.markSeen("watch1", 10);
    await store.presenceHistory.recordVisit("watch3", {
      since: 5,
      until: 7,
      reason: "idle",
      ip: "a",
    });
    await store.files.beginUpload({ ...SAMPLE_FILE, fileID: 8, ino: 77, logOffset: 120 });
    const pendingDelete = { device: "watch1", fileID: 9, count: 4, deletedAt: 11, logOffset: 0 };
    await store.files.beginDelete(pendingDelete);
    await store.close();
    await store.close(); // closing twice is harmless
    const again = await location.open();
    try {
      assert.deepEqual(await again.files.list(), [SAMPLE_FILE]);
      assert.deepEqual(await again.files.totals(), { files: 1, samples: 3, bytes: 42 });
      assert.equal(await again.mailbox.waiting(), 2);
      assert.equal(await again.lockouts.until("dev5"), 9_999);
      assert.deepEqual((await again.mailbox.pending("watch2")).map((m) => m.text), ["a", "b"]);
      assert.deepEqual(await again.blocks.blockedBy("watch1"), new Set(["watch3"]));
      assert.deepEqual(await again.blocks.blockersOf("watch3"), new Set(["watch1"]));
      assert.deepEqual(await again.presenceHistory.seenSince(10), ["watch1"]);
      assert.deepEqual(await again.presenceHistory.visits("watch3", 10), [
        { since: 5, until: 7, reason: "idle", ip: "a" },
      ]);
      assert.deepEqual(await again.files.pendingUpload("watch1", 8), {
        ...SAMPLE_FILE,
        fileID: 8,
        ino: 77,
        logOffset: 120,
      });
      assert.deepEqual(await again.files.pendingDeletes(), [pendingDelete]);
    } finally {
      await again.close();
    }
  });

  contract("writes not yet answered when the store closes are kept", async (store, location) => {
    const writes = [store.blocks.add("a", "b"), store.presenceHistory.markSeen("a", 1)];
    await store.close();
    await Promise.all(writes);
    const again = await location.open();
    try {
      assert.equal(await again.blocks.isBlocked("a", "b"), true);
      assert.deepEqual(await again.presenceHistory.seenSince(1), ["a"]);
    } finally {
      await again.close();
    }
  });
  return cases;
}
