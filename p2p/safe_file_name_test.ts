import assert from "node:assert/strict";
import {
  FALLBACK_FILE_NAME,
  numberedFileName,
  safeFileName,
  storedFileName,
} from "./safe_file_name.ts";
import { MAX_FILE_NAME_BYTES } from "./limits.ts";

Deno.test("safeFileName keeps plain names", () => {
  assert.equal(safeFileName("report-1.txt"), "report-1.txt");
  assert.equal(safeFileName("données été.csv"), "données été.csv");
});

Deno.test("safeFileName strips directories with either separator", () => {
  assert.equal(safeFileName("../../etc/passwd"), "passwd");
  assert.equal(safeFileName("..\\..\\windows\\win.ini"), "win.ini");
  assert.equal(safeFileName("/abs/path/x.bin"), "x.bin");
});

Deno.test("safeFileName never returns empty, dot or dot-dot", () => {
  for (const n of ["", ".", "..", "...", "a/..", "dir/", " ", "\u0000", "./.."]) {
    const out = safeFileName(n);
    assert.ok(out.length > 0);
    assert.notEqual(out, ".");
    assert.notEqual(out, "..");
  }
  assert.equal(safeFileName(".."), FALLBACK_FILE_NAME);
});

Deno.test("safeFileName removes control and reserved characters and leading dots", () => {
  assert.equal(safeFileName("a\nb\r\tc.txt"), "a_b__c.txt");
  assert.equal(safeFileName("x:y*z?.txt"), "x_y_z_.txt");
  assert.equal(safeFileName(".bashrc"), "bashrc");
  assert.equal(safeFileName("evil\u202etxt.exe"), "evil_txt.exe");
});

Deno.test("safeFileName limits length in UTF-8 bytes and keeps the extension", () => {
  const long = "é".repeat(400) + ".txt";
  const out = safeFileName(long);
  assert.ok(new TextEncoder().encode(out).length <= MAX_FILE_NAME_BYTES);
  assert.ok(out.endsWith(".txt"));
  assert.ok(!out.includes("\uFFFD"));
});

Deno.test("storedFileName is <sender>_<base name>", () => {
  assert.equal(storedFileName("watch1", "data.txt"), "watch1_data.txt");
  assert.equal(storedFileName("../w", "../../x"), "w_x");
  assert.equal(storedFileName("a/b", "c\\d"), "b_d");
});

Deno.test("numberedFileName puts the counter before the extension and stays within the limit", () => {
  assert.equal(numberedFileName("cam_1-5.txt", 1), "cam_1-5 (1).txt");
  assert.equal(numberedFileName("alice_file", 12), "alice_file (12)");
  assert.equal(numberedFileName("a_archive.tar.gz", 3), "a_archive.tar (3).gz");
  const long = storedFileName("alice", "é".repeat(300) + ".csv");
  const numbered = numberedFileName(long, 1000);
  assert.ok(new TextEncoder().encode(numbered).length <= MAX_FILE_NAME_BYTES);
  assert.ok(numbered.endsWith(" (1000).csv"));
  assert.ok(!numbered.includes("\uFFFD"));
});
