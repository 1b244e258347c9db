import assert from "node:assert/strict";
import { join } from "node:path";
import {
  committed,
  content,
  dataDirFixture,
  T0,
  tempUpload,
  uploadLine,
} from "./_data_dir_fixture.ts";

Deno.test("recovery: a consistent data directory needs no repair, twice", async () => {
  await using f = await dataDirFixture();
  await committed(f, "watch1", 1, [1, 2, 3]);
  await committed(f, "watch2", 1, [4]);
  await f.commits.deletionLog.append(uploadLine("watch1", T0, 9, 2));
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
  assert.deepEqual((await f.files.list()).map((r) => r.fileID), [1]);
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
  assert.equal(await f.files.get("watch1", 3), undefined);
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
  await f.files.put({ device: "watch1", fileID: 4, ...c, uploadedAt: at });
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
  await f.files.beginUpload({ ...next, uploadedAt: T0 + 1000, ino, logOffset: 99 });
  await Deno.remove(next.temp);
  assert.deepEqual(await f.recover(), [
    "rolled back the unfinished upload of watch1's file 5: it never reached uploads/",
  ]);
  assert.deepEqual(await f.files.get("watch1", 5), old);
  assert.deepEqual(await f.files.pendingUploads(), []);
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
      await f.files.beginUpload({ ...next, uploadedAt: T0, ino, logOffset });
      await Deno.rename(next.temp, path);
      const line = uploadLine("watch1", T0, 6, 3);
      if (lineWritten) await f.commits.uploadLog.append(line);
      assert.deepEqual(await f.recover(), [
        "finished the upload of watch1's file 6, which was in place before the crash: record " +
        `written${lineWritten ? "" : ", upload-log.txt line appended"}`,
      ]);
      assert.deepEqual((await f.files.get("watch1", 6))?.sum, 15n);
      // The plot summary made in the upload's pass survives the crash in the journal.
      assert.deepEqual(await f.files.plot("watch1", 6), next.plot);
      assert.deepEqual(await f.files.pendingUploads(), []);
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
      await f.files.beginDelete(pending);
      if (removed) await Deno.remove(path);
      const line = uploadLine("watch2", T0 + 5000, 8, 4);
      if (lineWritten) await f.commits.deletionLog.append(line);
      assert.deepEqual(await f.recover(), [
        `finished the delete of watch2's file 8: ${
          removed ? "file already gone" : "file removed"
        }` +
        (lineWritten ? "" : ", deletion-log.txt line appended"),
      ]);
      assert.deepEqual(await f.uploads(), []);
      assert.deepEqual(await f.files.list(), []);
      assert.deepEqual(await f.lines(f.dataDir.deletionLog), [line]);
      assert.deepEqual(await f.recover(), []);
    });
  }
});
