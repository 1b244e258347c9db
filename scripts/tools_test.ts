import assert from "node:assert/strict";
import { join } from "node:path";
import {
  aptGetRuns,
  findCommand,
  installHint,
  missingTools,
  selectTools,
  type ToolName,
  TOOLS,
} from "./tools.ts";

Deno.test("selectTools: no name is every tool; groups and names mix, each tool once, in table order", () => {
  assert.deepEqual(selectTools([]), Object.keys(TOOLS));
  assert.deepEqual(selectTools(["bench"]), ["socat", "gawk", "atftp", "atftpd", "mosquitto"]);
  assert.deepEqual(selectTools(["ci"]), [
    "postgres",
    "chromium",
    "promtool",
    "haproxy",
    "tmux",
    "openssl",
  ]);
  assert.deepEqual(selectTools(["tmux", "socat", "bench", "socat"]), [
    "socat",
    "gawk",
    "atftp",
    "atftpd",
    "mosquitto",
    "tmux",
  ]);
});

Deno.test("selectTools: an unknown name is refused, naming it and the choices", () => {
  assert.throws(
    () => selectTools(["socat", "postgresql"]),
    (e) =>
      e instanceof RangeError &&
      /^unknown tool postgresql; choose from socat, gawk/.test(e.message) &&
      /or a group \(bench, ci\)$/.test(e.message),
  );
  // A name of Object.prototype is not a tool.
  assert.throws(() => selectTools(["toString"]), RangeError);
});

Deno.test("findCommand: the first executable file on the search path, or an absolute path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "iotnet-tools-" });
  try {
    const [first, second] = [join(dir, "a"), join(dir, "b")];
    await Deno.mkdir(first);
    await Deno.mkdir(second);
    await Deno.writeTextFile(join(first, "tool"), "not executable\n", { mode: 0o644 });
    await Deno.writeTextFile(join(second, "tool"), "#!/bin/sh\n", { mode: 0o755 });
    await Deno.mkdir(join(first, "dir"), { mode: 0o755 });
    const path = `${first}::${second}`;
    assert.equal(findCommand("tool", path), join(second, "tool"));
    assert.equal(findCommand("dir", path), undefined, "a directory is not a command");
    assert.equal(findCommand("absent", path), undefined);
    assert.equal(findCommand(join(second, "tool"), ""), join(second, "tool"));
    assert.equal(findCommand(join(first, "tool"), path), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("missingTools looks each tool's command up, absolute paths included", () => {
  const looked: string[] = [];
  const present = new Set(["socat", "/usr/lib/postgresql/15/bin/postgres"]);
  const find = (command: string) => {
    looked.push(command);
    return present.has(command) ? command : undefined;
  };
  const names: ToolName[] = ["socat", "postgres", "promtool", "atftpd"];
  assert.deepEqual(missingTools(names, find), ["promtool", "atftpd"]);
  assert.deepEqual(looked, ["socat", "/usr/lib/postgresql/15/bin/postgres", "promtool", "atftpd"]);
});

Deno.test("aptGetRuns: one update, then one install of every package, waiting for the apt lock", () => {
  assert.deepEqual(aptGetRuns([]), []);
  const lock = ["-o", "DPkg::Lock::Timeout=300"];
  assert.deepEqual(aptGetRuns(["promtool", "postgres", "atftp"]), [
    ["update", "-qq", ...lock],
    ["install", "-y", "-qq", ...lock, "prometheus", "postgresql-15", "atftp"],
  ]);
});

Deno.test("installHint names the Debian packages and the tools' own install command", () => {
  assert.equal(
    installHint(["promtool"]),
    "install it with: apt-get install prometheus (as root), or run deno run -A " +
      "scripts/tools.ts --install promtool",
  );
  assert.match(
    installHint(["atftp", "atftpd"]),
    /^install them with: apt-get install atftp atftpd/,
  );
});
