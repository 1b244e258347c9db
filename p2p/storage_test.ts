import assert from "node:assert/strict";
import { join } from "node:path";
import { MAX_NAME_COUNTER } from "./limits.ts";
import { numberedFileName } from "./safe_file_name.ts";
import { PartFile } from "./storage.ts";

const encoder = new TextEncoder();

async function partWith(dir: string, name: string, text: string, id: string): Promise<PartFile> {
  const part = await PartFile.create(dir, name, id.repeat(32).slice(0, 32));
  await part.write([encoder.encode(text)]);
  return part;
}

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test("PartFile.commit never replaces a file: a taken name gets a counter", async () => {
  const dir = await Deno.makeTempDir({ prefix: "part_" });
  try {
    await Deno.writeTextFile(join(dir, "cam_1-5.txt"), "mine\n");
    const first = await partWith(dir, "cam_1-5.txt", "first", "a");
    assert.equal(await first.commit(), join(dir, "cam_1-5 (1).txt"));
    const second = await partWith(dir, "cam_1-5.txt", "second", "b");
    assert.equal(await second.commit(), join(dir, "cam_1-5 (2).txt"));
    assert.equal(await Deno.readTextFile(join(dir, "cam_1-5.txt")), "mine\n");
    assert.equal(await Deno.readTextFile(join(dir, "cam_1-5 (1).txt")), "first");
    assert.equal(await Deno.readTextFile(join(dir, "cam_1-5 (2).txt")), "second");
    assert.deepEqual(await names(dir), ["cam_1-5 (1).txt", "cam_1-5 (2).txt", "cam_1-5.txt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PartFile.commit: transfers of one name finishing at once all keep their bytes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "part_" });
  try {
    const parts = await Promise.all(
      ["a", "b", "c", "d", "e", "f"].map((id) => partWith(dir, "x_same.bin", `from ${id}`, id)),
    );
    const paths = await Promise.all(parts.map((p) => p.commit()));
    assert.equal(new Set(paths).size, parts.length, paths.join(", "));
    const texts = await Promise.all(paths.map((p) => Deno.readTextFile(p)));
    assert.deepEqual(texts.sort(), ["a", "b", "c", "d", "e", "f"].map((id) => `from ${id}`));
    assert.ok(!(await names(dir)).some((n) => n.endsWith(".part")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PartFile.commit skips reserved names even when they are free", async () => {
  const dir = await Deno.makeTempDir({ prefix: "part_" });
  try {
    const part = await partWith(dir, "cam_1-7.txt", "not data", "a");
    const path = await part.commit((name) => name === "cam_1-7.txt");
    assert.equal(path, join(dir, "cam_1-7 (1).txt"));
    assert.deepEqual(await names(dir), ["cam_1-7 (1).txt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("PartFile.commit fails, replacing nothing, once MAX_NAME_COUNTER numbered names are taken", async () => {
  const dir = await Deno.makeTempDir({ prefix: "part_" });
  try {
    const taken = ["f.txt"];
    for (let n = 1; n <= MAX_NAME_COUNTER; n++) taken.push(numberedFileName("f.txt", n));
    for (const name of taken) await Deno.writeTextFile(join(dir, name), "old");
    const part = await partWith(dir, "f.txt", "new", "a");
    await assert.rejects(() => part.commit(), Deno.errors.AlreadyExists);
    await part.discard();
    assert.equal((await names(dir)).length, taken.length);
    for (const name of [taken[0]!, taken[MAX_NAME_COUNTER]!]) {
      assert.equal(await Deno.readTextFile(join(dir, name)), "old");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
