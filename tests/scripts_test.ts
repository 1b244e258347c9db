import assert from "node:assert/strict";
import { ROOT } from "./_helpers/iotnet_command.ts";

/** The command lines of `scripts/` and `scripts/experiments/` (not helpers, not tests). */
async function scriptFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const dir of ["scripts", "scripts/experiments"]) {
    for await (const entry of Deno.readDir(`${ROOT}${dir}`)) {
      const name = entry.name;
      if (!entry.isFile || !name.endsWith(".ts") || name.startsWith("_")) continue;
      if (name.endsWith("_test.ts")) continue;
      files.push(`${dir}/${name}`);
    }
  }
  return files.sort();
}

async function run(script: string, args: string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "--config", `${ROOT}deno.json`, `${ROOT}${script}`, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(60_000),
  }).output();
}

Deno.test("every script under scripts/ answers --help with its usage, and a bad option with exit 2", async () => {
  const scripts = await scriptFiles();
  assert.ok(scripts.includes("scripts/crash_loop.ts") && scripts.length >= 10, String(scripts));
  const decoder = new TextDecoder();
  await Promise.all(scripts.map(async (script) => {
    const help = await run(script, ["--help"]);
    const usage = decoder.decode(help.stdout);
    assert.equal(help.code, 0, `${script} --help: ${decoder.decode(help.stderr)}`);
    assert.match(usage, /^usage: (deno run -A |deno task )/, `${script} --help printed ${usage}`);
    const bad = await run(script, ["--no-such-option"]);
    assert.equal(bad.code, 2, `${script} --no-such-option exited ${bad.code}`);
    assert.match(decoder.decode(bad.stderr), /--no-such-option[^]*\nusage: /, script);
  }));
});
