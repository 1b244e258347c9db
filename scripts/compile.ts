/**
 * `deno task compile`: builds the single `iotnet` executable into `dist/iotnet`.
 *
 * `deno compile` needs a `denort` base binary. Deno downloads it unless the environment
 * variable `DENORT_BIN` names a local one; on a machine with neither, this says so
 * plainly and exits 1.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { parseCli, usageError } from "./_cli.ts";

const USAGE = `usage: deno task compile [output]
  builds the iotnet executable into output (default dist/iotnet); set DENORT_BIN to a
  denort binary of the same Deno version to build offline`;

const root = fileURLToPath(new URL("../", import.meta.url));
const { positionals } = parseCli(Deno.args, { usage: USAGE, options: {}, positionals: true });
if (positionals.length > 1) usageError(USAGE, "name one output file");
const output = positionals[0] ?? `${root}dist/iotnet`;
const denort = Deno.env.get("DENORT_BIN");
console.log(
  denort
    ? `compiling with the denort binary at ${denort}`
    : "compiling; deno will download its denort base binary (set DENORT_BIN to use a local one)",
);
const { code } = await new Deno.Command(Deno.execPath(), {
  args: ["compile", "-A", "--config", `${root}deno.json`, "--output", output, `${root}mod.ts`],
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (code !== 0) {
  console.error(
    "deno compile failed. Without internet access it needs DENORT_BIN pointing at a denort " +
      "binary of the same Deno version (from the denort release archive).",
  );
  Deno.exit(1);
}
console.log(`built ${output}`);
