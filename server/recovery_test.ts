import assert from "node:assert/strict";
import { join } from "node:path";
import { SampleAggregator } from "../protocol/samples.ts";
import { IoError } from "../protocol/errors.ts";
import { DataDir } from "./data_dir.ts";
import { commitDelete, type CommitTarget, commitUpload, recoverDataDir } from "./recovery.ts";
import { Store, type StoredFile } from "./store.ts";
import { appendLogLine, parseLogLine } from "./text_log.ts";
import { formatTimestamp } from "./timestamp.ts";

/** A prepared data directory with its store, removed on dispose. */
async function dataDirFixture() {
  const root = await Deno.makeTempDir({ prefix: "iotnet-recovery-" });
  const dataDir = new DataDir(root);
  await dataDir.prepare();
  const store = new Store(dataDir.database);
  const logged: string[] = [];
  const target: CommitTarget = { dataDir, store, log: (line) => logged.push(line) };
  return {
    dataDir,
    store,
    target,
    logged,
    recover: () => recoverDataDir(dataDir, store),
    uploads: async () => {
      const names: string[] = [];
      for await (const e of Deno.readDir(dataDir.uploads)) names.push(e.name);
      return names.sort();
    },
    lines: async (path: string) => {
      try {
        return (await Deno.readTextFile(path)).split("\n").filter(Boolean);
      } catch {
        return [];
      }
    },
    async [Symbol.asyncDispose]() {
      store.close();
      await Deno.remove(root, { recursive: true });
    },
  };
}

type Fixture = Awaited<ReturnType<typeof dataDirFixture>>;

const T0 = new Date(2026, 0, 15, 9, 30, 0).getTime();

function content(values: number[]) {
  const text = values.map((v) => `${v}\n`).join("");
  const aggregator = new SampleAggregator();
  aggregator.push(new TextEncoder().encode(text));
  return { text, bytes: new TextEncoder().encode(text).length, ...aggregator.finish() };
}

function uploadLine(device: string, at: number, fileID: number, count: number): string {
  return `${device}; ${formatTimestamp(at)}; ${fileID}; ${count}`;
}

/** An upload as a finished UED leaves it: file, record and log line. */
async function committed(
  f: Fixture,
  device: string,
  fileID: number,
  values: number[],
  at = T0,
): Promise<StoredFile> {
  const c = content(values);
  await Deno.writeTextFile(f.dataDir.uploadPath(device, fileID), c.text);
  const record: StoredFile = {
    device,
    fileID,
    count: c.count,
    sum: c.sum,
    min: c.min,
    max: c.max,
    bytes: c.bytes,
    uploadedAt: at,
  };
  await f.store.putFile(record);
  await appendLogLine(f.dataDir.uploadLog, uploadLine(device, at, fileID, c.count));
  return record;
}

/** A finished temporary upload file, as UploadSink leaves it before the commit. */
async function tempUpload(f: Fixture, device: string, fileID: number, values: number[]) {
  const c = content(values);
  const temp = f.dataDir.tempPathFor(f.dataDir.uploadPath(device, fileID));
  await Deno.writeTextFile(temp, c.text);
  return {
    device,
    fileID,
    temp,
    ino: (await Deno.stat(temp)).ino,
    bytes: c.bytes,
    count: c.count,
    sum: c.sum,
    min: c.min,
    max: c.max,
  };
}

Deno.test("recovery: a consistent data directory needs no repair, twice", async () => {
  await using f = await dataDirFixture();
  await committed(f, "watch1", 1, [1, 2, 3]);
  await committed(f, "watch2", 1, [4]);
  await appendLogLine(f.dataDir.deletionLog, uploadLine("watch1", T0, 9, 2));
  assert.deepEqual(await f.recover(), []);
  assert.deepEqual(await f.recover(), []);
  assert.deepEqual(await f.uploads(), ["watch1-1.txt", "watch2-1.txt"]);
});

Deno.test("recovery: an upload file with no record is removed as never acknowledged", async () => {
  await using f = await dataDirFixture();
  await committed(f, "watch1", 1, [1]);
  await Deno.writeTextFile(f.dataDir.uploadPath("watch1", 2), "5\n");
  await Deno.writeTextFile(join(f.dataDir.uploads, "notes.md"), "mine\n");
  await Deno.writeTextFile(join(f.dataDir.uploads, "watch1-01.txt"), "5\n");
  assert.deepEqual(await f.recover(), [
    "left uploads/notes.md alone: it is not a name iotnet writes",
    "left uploads/watch1-01.txt alone: it is not a name iotnet writes",
    "removed uploads/watch1-2.txt: it has no record, so its upload was never acknowledged",
  ]);
  assert.deepEqual(await f.uploads(), ["notes.md", "watch1-01.txt", "watch1-1.txt"]);
  assert.deepEqual(await f.lines(f.dataDir.uploadLog), [uploadLine("watch1", T0, 1, 1)]);
});

Deno.test("recovery: a record whose file is missing is forgotten", async () => {
  await using f = await dataDirFixture();
  await committed(f, "watch1", 1, [1]);
  await committed(f, "watch1", 2, [2]);
  await Deno.remove(f.dataDir.uploadPath("watch1", 2));
  assert.deepEqual(await f.recover(), ["forgot watch1's file 2: uploads/watch1-2.txt is missing"]);
  assert.deepEqual(f.store.listFiles().map((r) => r.fileID), [1]);
  assert.deepEqual(await f.recover(), []);
});

Deno.test("recovery: a file whose size differs from its record is moved aside and forgotten", async () => {
  await using f = await dataDirFixture();
  await committed(f, "watch1", 3, [10, 20]);
  await Deno.writeTextFile(f.dataDir.uploadPath("watch1", 3), "10\n");
  const repairs = await f.recover();
  assert.deepEqual(repairs, [
    "moved uploads/watch1-3.txt aside to uploads/watch1-3.txt.damaged and forgot it: it has 3 " +
    "bytes where its record says 6",
  ]);
  assert.equal(f.store.getFile("watch1", 3), undefined);
  assert.deepEqual(await f.uploads(), ["watch1-3.txt.damaged"]);
});

Deno.test("recovery: a record with no upload-log line gets one with its own timestamp, once", async () => {
  await using f = await dataDirFixture();
  // As an iotnet without the journal leaves a crash between the record and the line:
  // an older line of the same file, then the new file and record.
  await committed(f, "watch1", 4, [1, 2]);
  const c = content([7, 8, 9]);
  await Deno.writeTextFile(f.dataDir.uploadPath("watch1", 4), c.text);
  const at = T0 + 65_000;
  await f.store.putFile({ device: "watch1", fileID: 4, ...c, uploadedAt: at });
  const line = uploadLine("watch1", at, 4, 3);
  assert.deepEqual(await f.recover(), [
    `appended the missing upload-log.txt line of watch1's file 4: ${line}`,
  ]);
  assert.deepEqual(await f.lines(f.dataDir.uploadLog), [uploadLine("watch1", T0, 4, 2), line]);
  assert.deepEqual(await f.recover(), []);
});

Deno.test("recovery: a torn last line is cut off each log and whole lines stay", async () => {
  await using f = await dataDirFixture();
  await committed(f, "watch1", 1, [1]);
  const whole = uploadLine("watch1", T0, 1, 1);
  await Deno.writeTextFile(f.dataDir.uploadLog, "watch2; 15 Janu", { append: true });
  await Deno.writeTextFile(f.dataDir.deletionLog, "watch3; 1 May 2026 10:0");
  const repairs = await f.recover();
  assert.deepEqual(repairs, [
    'cut a torn last line off upload-log.txt (15 bytes: "watch2; 15 Janu")',
    'cut a torn last line off deletion-log.txt (23 bytes: "watch3; 1 May 2026 10:0")',
  ]);
  assert.equal(await Deno.readTextFile(f.dataDir.uploadLog), `${whole}\n`);
  assert.equal(await Deno.readTextFile(f.dataDir.deletionLog), "");
  assert.deepEqual(await f.recover(), []);
});

Deno.test("recovery: a journalled upload that never reached uploads/ is rolled back", async () => {
  await using f = await dataDirFixture();
  const old = await committed(f, "watch1", 5, [1, 2]);
  // Crash after the journal row: the temporary file was removed by DataDir.prepare.
  const next = await tempUpload(f, "watch1", 5, [3, 4, 5]);
  const { ino } = await Deno.stat(next.temp);
  await f.store.beginUpload({ ...next, uploadedAt: T0 + 1000, ino, logOffset: 99 });
  await Deno.remove(next.temp);
  assert.deepEqual(await f.recover(), [
    "rolled back the unfinished upload of watch1's file 5: it never reached uploads/",
  ]);
  assert.deepEqual(f.store.getFile("watch1", 5), old);
  assert.deepEqual(f.store.pendingUploads(), []);
  assert.equal(await Deno.readTextFile(f.dataDir.uploadPath("watch1", 5)), "1\n2\n");
  assert.deepEqual(await f.lines(f.dataDir.uploadLog), [uploadLine("watch1", T0, 5, 2)]);
});

Deno.test("recovery: a journalled upload already in place is finished, its line written once", async (t) => {
  for (const lineWritten of [false, true]) {
    await t.step(`with the log line ${lineWritten ? "already" : "not yet"} written`, async () => {
      await using f = await dataDirFixture();
      // An earlier upload of the same file in the same second with the same count: its
      // identical line lies before the journalled offset and must not count.
      await committed(f, "watch1", 6, [1, 2, 3]);
      const next = await tempUpload(f, "watch1", 6, [4, 5, 6]);
      const path = f.dataDir.uploadPath("watch1", 6);
      const { ino } = await Deno.stat(next.temp);
      const logOffset = (await Deno.stat(f.dataDir.uploadLog)).size;
      await f.store.beginUpload({ ...next, uploadedAt: T0, ino, logOffset });
      await Deno.rename(next.temp, path);
      const line = uploadLine("watch1", T0, 6, 3);
      if (lineWritten) await appendLogLine(f.dataDir.uploadLog, line);
      assert.deepEqual(await f.recover(), [
        "finished the upload of watch1's file 6, which was in place before the crash: record " +
        `written${lineWritten ? "" : ", upload-log.txt line appended"}`,
      ]);
      assert.deepEqual(f.store.getFile("watch1", 6)?.sum, 15n);
      assert.deepEqual(f.store.pendingUploads(), []);
      assert.deepEqual(await f.lines(f.dataDir.uploadLog), [line, line]);
      assert.deepEqual(await f.recover(), []);
    });
  }
});

Deno.test("recovery: a journalled delete is finished: file removed, line written once", async (t) => {
  for (const [removed, lineWritten] of [[false, false], [true, false], [true, true]]) {
    await t.step(`file ${removed ? "gone" : "still there"}, line ${lineWritten}`, async () => {
      await using f = await dataDirFixture();
      await committed(f, "watch2", 8, [1, 1, 1, 1]);
      const path = f.dataDir.uploadPath("watch2", 8);
      const pending = { device: "watch2", fileID: 8, count: 4, deletedAt: T0 + 5000, logOffset: 0 };
      await f.store.beginDelete(pending);
      if (removed) await Deno.remove(path);
      const line = uploadLine("watch2", T0 + 5000, 8, 4);
      if (lineWritten) await appendLogLine(f.dataDir.deletionLog, line);
      assert.deepEqual(await f.recover(), [
        `finished the delete of watch2's file 8: ${
          removed ? "file already gone" : "file removed"
        }` +
        (lineWritten ? "" : ", deletion-log.txt line appended"),
      ]);
      assert.deepEqual(await f.uploads(), []);
      assert.deepEqual(f.store.listFiles(), []);
      assert.deepEqual(await f.lines(f.dataDir.deletionLog), [line]);
      assert.deepEqual(await f.recover(), []);
    });
  }
});

Deno.test("commit: concurrent uploads and deletes of one file leave file, record and logs agreeing", async () => {
  await using f = await dataDirFixture();
  const outcomes = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
    if (i % 3 === 2) {
      const file = await commitDelete(f.target, { device: "watch1", fileID: 1, deletedAt: T0 });
      return file ? "deleted" : "nothing";
    }
    const upload = await tempUpload(f, "watch1", 1, Array.from({ length: i + 1 }, () => i));
    await commitUpload(f.target, { ...upload, uploadedAt: T0 });
    return "uploaded";
  }));
  const record = f.store.getFile("watch1", 1);
  const path = f.dataDir.uploadPath("watch1", 1);
  if (record) {
    const text = await Deno.readTextFile(path);
    assert.equal(text.split("\n").filter(Boolean).length, record.count);
    assert.equal(new TextEncoder().encode(text).length, record.bytes);
  } else {
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  }
  assert.equal(
    (await f.lines(f.dataDir.uploadLog)).length,
    outcomes.filter((o) => o === "uploaded").length,
  );
  assert.equal(
    (await f.lines(f.dataDir.deletionLog)).length,
    outcomes.filter((o) => o === "deleted").length,
  );
  assert.deepEqual(f.store.pendingUploads(), []);
  assert.deepEqual(f.store.pendingDeletes(), []);
  assert.deepEqual(await f.recover(), []);
});

Deno.test("commit: an upload that fails before its rename stores nothing and keeps the old file", async () => {
  await using f = await dataDirFixture();
  const old = await committed(f, "watch1", 2, [1]);
  const upload = await tempUpload(f, "watch1", 2, [2, 3]);
  // The old file turned into a non-empty folder: the rename cannot replace it.
  const path = f.dataDir.uploadPath("watch1", 2);
  await Deno.remove(path);
  await Deno.mkdir(join(path, "x"), { recursive: true });
  await assert.rejects(
    commitUpload(f.target, { ...upload, uploadedAt: T0 + 1 }),
    (e) =>
      e instanceof IoError &&
      /^the server could not store file 2: /.test(e.message),
  );
  assert.deepEqual(f.store.getFile("watch1", 2), old);
  assert.deepEqual(f.store.pendingUploads(), []);
  assert.deepEqual((await f.uploads()).filter((n) => n.endsWith(".part")), []);
  assert.deepEqual(await f.lines(f.dataDir.uploadLog), [uploadLine("watch1", T0, 2, 1)]);
});

Deno.test("commit: an upload that fails after its rename is finished by the next change or start", async (t) => {
  for (const finisher of ["next start", "next change"]) {
    await t.step(`finished by the ${finisher}`, async () => {
      await using f = await dataDirFixture();
      // upload-log.txt is a folder for a moment: the append fails after the rename.
      await Deno.mkdir(f.dataDir.uploadLog);
      const upload = await tempUpload(f, "watch1", 3, [5, 6]);
      await assert.rejects(
        commitUpload(f.target, { ...upload, uploadedAt: T0 }),
        (e) =>
          e instanceof IoError &&
          /^file 3 is stored, but the server could not finish recording it/.test(e.message),
      );
      assert.equal(f.store.pendingUploads().length, 1);
      // The record already answers for the file in place, though the line is owed.
      assert.equal(f.store.getFile("watch1", 3)?.sum, 11n);
      await Deno.remove(f.dataDir.uploadLog);
      const line = uploadLine("watch1", T0, 3, 2);
      const message = "finished the upload of watch1's file 3, which was in place before the " +
        "crash: record written, upload-log.txt line appended";
      if (finisher === "next start") {
        assert.deepEqual(await f.recover(), [message]);
      } else {
        assert.equal(
          await commitDelete(f.target, { device: "watch1", fileID: 3, deletedAt: T0 }).then((r) =>
            r?.count
          ),
          2,
        );
        assert.deepEqual(f.logged, [`recovery: ${message}`]);
        assert.deepEqual(await f.lines(f.dataDir.deletionLog), [line]);
      }
      assert.deepEqual(await f.lines(f.dataDir.uploadLog), [line]);
      assert.deepEqual(f.store.pendingUploads(), []);
      assert.deepEqual(await f.recover(), []);
    });
  }
});

Deno.test("commit: a delete that fails after forgetting the record is finished at the next start", async () => {
  await using f = await dataDirFixture();
  await committed(f, "watch1", 4, [1, 2, 3]);
  await Deno.mkdir(f.dataDir.deletionLog);
  await assert.rejects(
    commitDelete(f.target, { device: "watch1", fileID: 4, deletedAt: T0 }),
    (e) =>
      e instanceof IoError &&
      /^file 4 is deleted, but the server could not finish/.test(e.message),
  );
  assert.equal(f.store.getFile("watch1", 4), undefined);
  await Deno.remove(f.dataDir.deletionLog);
  assert.deepEqual(await f.recover(), [
    "finished the delete of watch1's file 4: file already gone, deletion-log.txt line appended",
  ]);
  assert.deepEqual(await f.lines(f.dataDir.deletionLog), [uploadLine("watch1", T0, 4, 3)]);
});

Deno.test("parseLogLine reads the SPEC format and nothing else", () => {
  const at = new Date(2022, 8, 30, 10, 31, 13).getTime();
  assert.deepEqual(parseLogLine("watch1; 30 September 2022 10:31:13; 3; 100"), {
    device: "watch1",
    at,
    fileID: 3,
    dataAmount: 100,
  });
  for (
    const bad of [
      "",
      "watch1; 30 September 2022 10:31:13; 3",
      "watch1; 30 September 2022 10:31:13; 3; 100; 4",
      "watch1; 30 Sept 2022 10:31:13; 3; 100",
      "watch1; 01 September 2022 10:31:13; 3; 100",
      "watch1; 31 February 2022 10:31:13; 3; 100",
      "watch1; 30 September 2022 24:00:00; 3; 100",
      "watch1;  30 September 2022 10:31:13; 3; 100",
      "watch1; 30 September 2022 10:31:13; -3; 100",
      "../x; 30 September 2022 10:31:13; 3; 100",
      "watch1; 30 September 2022 10:31:13; 3; 100\r",
    ]
  ) {
    assert.equal(parseLogLine(bad), undefined, bad);
  }
});
