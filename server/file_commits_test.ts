import assert from "node:assert/strict";
import { join } from "node:path";
import { IoError } from "../protocol/errors.ts";
import { committed, dataDirFixture, T0, tempUpload, uploadLine } from "./_data_dir_fixture.ts";

Deno.test("commit: concurrent uploads and deletes of one file leave file, record and logs agreeing", async () => {
  await using f = await dataDirFixture();
  const outcomes = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
    if (i % 3 === 2) {
      const file = await f.commits.delete({ device: "watch1", fileID: 1, deletedAt: T0 });
      return file ? "deleted" : "nothing";
    }
    const upload = await tempUpload(f, "watch1", 1, Array.from({ length: i + 1 }, () => i));
    await f.commits.upload({ ...upload, uploadedAt: T0 });
    return "uploaded";
  }));
  const record = await f.files.get("watch1", 1);
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
  assert.deepEqual(await f.files.pendingUploads(), []);
  assert.deepEqual(await f.files.pendingDeletes(), []);
  assert.deepEqual(await f.recover(), []);
});

Deno.test("commit: an upload's plot summary is stored with its record", async () => {
  await using f = await dataDirFixture();
  const upload = await tempUpload(f, "watch1", 4, [0, 0, 4_000, 0, -4_000]);
  await f.commits.upload({ ...upload, uploadedAt: T0 });
  assert.deepEqual(await f.files.plot("watch1", 4), {
    width: 1,
    count: 5,
    min: [0, 0, 4_000, 0, -4_000],
    max: [0, 0, 4_000, 0, -4_000],
  });
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
    f.commits.upload({ ...upload, uploadedAt: T0 + 1 }),
    (e) =>
      e instanceof IoError &&
      /^the server could not store file 2: /.test(e.message),
  );
  assert.deepEqual(await f.files.get("watch1", 2), old);
  assert.deepEqual(await f.files.pendingUploads(), []);
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
        f.commits.upload({ ...upload, uploadedAt: T0 }),
        (e) =>
          e instanceof IoError &&
          /^file 3 is stored, but the server could not finish recording it/.test(e.message),
      );
      assert.equal((await f.files.pendingUploads()).length, 1);
      // The record already answers for the file in place, though the line is owed.
      assert.equal((await f.files.get("watch1", 3))?.sum, 11n);
      await Deno.remove(f.dataDir.uploadLog);
      const line = uploadLine("watch1", T0, 3, 2);
      const message = "finished the upload of watch1's file 3, which was in place before the " +
        "crash: record written, upload-log.txt line appended";
      if (finisher === "next start") {
        assert.deepEqual(await f.recover(), [message]);
      } else {
        assert.equal(
          await f.commits.delete({ device: "watch1", fileID: 3, deletedAt: T0 }).then((r) =>
            r?.count
          ),
          2,
        );
        assert.deepEqual(f.logged, [`recovery: ${message}`]);
        assert.deepEqual(await f.lines(f.dataDir.deletionLog), [line]);
      }
      assert.deepEqual(await f.lines(f.dataDir.uploadLog), [line]);
      assert.deepEqual(await f.files.pendingUploads(), []);
      assert.deepEqual(await f.recover(), []);
    });
  }
});

Deno.test("commit: a delete that fails after forgetting the record is finished at the next start", async () => {
  await using f = await dataDirFixture();
  await committed(f, "watch1", 4, [1, 2, 3]);
  await Deno.mkdir(f.dataDir.deletionLog);
  await assert.rejects(
    f.commits.delete({ device: "watch1", fileID: 4, deletedAt: T0 }),
    (e) =>
      e instanceof IoError &&
      /^file 4 is deleted, but the server could not finish/.test(e.message),
  );
  assert.equal(await f.files.get("watch1", 4), undefined);
  await Deno.remove(f.dataDir.deletionLog);
  assert.deepEqual(await f.recover(), [
    "finished the delete of watch1's file 4: file already gone, deletion-log.txt line appended",
  ]);
  assert.deepEqual(await f.lines(f.dataDir.deletionLog), [uploadLine("watch1", T0, 4, 3)]);
});

Deno.test("commit: a copy whose record is gone is removed without a deletion-log line; a held one is kept", async () => {
  await using f = await dataDirFixture();
  const upload = await tempUpload(f, "watch1", 4, [1, 2, 3]);
  await f.commits.upload({ ...upload, uploadedAt: T0 });
  // Its record names this server: the copy is the file, whatever the job says.
  assert.equal(await f.commits.dropCopy("watch1", 4), false);
  assert.deepEqual(await f.uploads(), ["watch1-4.txt"]);
  // Deleted through another node: the record went there.
  await f.files.remove("watch1", 4);
  assert.equal(await f.commits.dropCopy("watch1", 4), true);
  assert.deepEqual(await f.uploads(), []);
  assert.deepEqual(await f.lines(f.dataDir.deletionLog), []);
  // Twice, or a file never here: nothing to do.
  assert.equal(await f.commits.dropCopy("watch1", 4), false);
  assert.equal(await f.commits.dropCopy("watch2", 9), false);
  assert.deepEqual(await f.recover(), []);
});

Deno.test("commit: once the journal is settled at start, a change reads it only for a file a failed change left rows for", async () => {
  await using f = await dataDirFixture();
  assert.deepEqual(await f.recover(), []);
  const reads: string[] = [];
  const { pendingUpload, pendingDelete } = f.files;
  f.files.pendingUpload = (device, fileID) => {
    reads.push(`upload ${device} ${fileID}`);
    return pendingUpload(device, fileID);
  };
  f.files.pendingDelete = (device, fileID) => {
    reads.push(`delete ${device} ${fileID}`);
    return pendingDelete(device, fileID);
  };
  const upload = async (fileID: number, values: number[]) =>
    await f.commits.upload({ ...await tempUpload(f, "watch1", fileID, values), uploadedAt: T0 });

  // An upload that fails after its rename leaves its journal row (upload-log.txt is a
  // folder for a moment).
  await Deno.mkdir(f.dataDir.uploadLog);
  await assert.rejects(upload(3, [5, 6]), IoError);
  await Deno.remove(f.dataDir.uploadLog);
  assert.deepEqual(reads, []);

  // Changes to other files read nothing of the journal.
  await upload(1, [1]);
  await f.commits.delete({ device: "watch1", fileID: 1, deletedAt: T0 });
  await upload(2, [7]);
  assert.deepEqual(reads, []);

  // The next change to file 3 finishes the upload first, found in the journal; then the
  // file reads no more.
  assert.equal(
    (await f.commits.delete({ device: "watch1", fileID: 3, deletedAt: T0 }))?.count,
    2,
  );
  assert.deepEqual(reads, ["upload watch1 3", "delete watch1 3"]);
  assert.match(f.logged.join("\n"), /recovery: finished the upload of watch1's file 3/);
  await upload(3, [8]);
  assert.equal(reads.length, 2);
  assert.deepEqual(await f.files.pendingUploads(), []);
});
