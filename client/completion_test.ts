import assert from "node:assert/strict";
import { completeLine } from "./completion.ts";

Deno.test("completeLine offers the command words that start with what is typed, any case", () => {
  assert.deepEqual(completeLine("w", []), [["whoelse", "whoelsesince"], "w"]);
  assert.deepEqual(completeLine("SC", []), [["SCS"], "SC"]);
  assert.deepEqual(completeLine("lo", []), [["logout"], "lo"]);
  assert.deepEqual(completeLine("zz", []), [[], "zz"]);
});

Deno.test("completeLine offers every command on an empty line", () => {
  const [all] = completeLine("", []);
  assert.ok(all.includes("EDG") && all.includes("message") && all.includes("help"));
});

Deno.test("completeLine offers device names after a command that takes a device", () => {
  const devices = ["carol", "bob", "cam"];
  assert.deepEqual(completeLine("message c", devices), [["cam", "carol"], "c"]);
  assert.deepEqual(completeLine("UVF b", devices), [["bob"], "b"]);
  assert.deepEqual(completeLine("stopprivate ", devices), [["bob", "cam", "carol"], ""]);
});

Deno.test("completeLine offers nothing where no device or command fits", () => {
  const devices = ["carol"];
  assert.deepEqual(completeLine("SCS c", devices), [[], "c"]);
  assert.deepEqual(completeLine("message carol c", devices), [[], "c"]);
  assert.deepEqual(completeLine("message C", devices), [[], "C"]);
});
