import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "./_helpers/iotnet_command.ts";

const denort = Deno.env.get("DENORT_BIN");
if (!denort) {
  console.log(
    "compile test skipped: DENORT_BIN is not set, and deno compile cannot download its " +
      "denort base binary here. Set DENORT_BIN=/path/to/denort to run it.",
  );
}

Deno.test({
  name: "deno task compile builds an iotnet binary that runs",
  ignore: !denort,
  async fn() {
    const dir = await Deno.makeTempDir();
    const output = join(dir, "iotnet");
    const build = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}scripts/compile.ts`, output],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(build.code, 0, new TextDecoder().decode(build.stderr));
    const version = await new Deno.Command(output, { args: ["--version"], stdout: "piped" })
      .output();
    assert.equal(version.code, 0);
    assert.match(new TextDecoder().decode(version.stdout), /^\d+\.\d+\.\d+/);
    const help = await new Deno.Command(output, { args: ["server", "0", "9"], stderr: "piped" })
      .output();
    assert.equal(help.code, 2);
    await Deno.remove(dir, { recursive: true });
  },
});
