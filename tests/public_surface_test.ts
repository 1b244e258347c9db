/**
 * The public surface is deliberate (issue 11, `docs/DECISIONS.md` "Public surface"): every
 * entry names what it exports (no `export *`), code outside `internal/` reaches the shared
 * helpers only through `internal/mod.ts`, and the root and client entries export exactly
 * the values listed here, so widening or narrowing the library is a visible change to
 * this file. `deno task doc-lint` checks that each entry is documented.
 */

import assert from "node:assert/strict";
import { join, relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
/** Folders that are not source: generated or local data. */
const SKIP = new Set(["node_modules", "bench-data", "demo", "coverage", ".git"]);

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

/** `relative path:line` of every line of the sources that matches `pattern`. */
async function linesMatching(
  pattern: RegExp,
  include: (file: string) => boolean,
): Promise<string[]> {
  const found: string[] = [];
  for await (const path of sourceFiles(ROOT)) {
    const file = relative(ROOT, path);
    if (!include(file)) continue;
    const lines = (await Deno.readTextFile(path)).split("\n");
    lines.forEach((line, i) => {
      if (pattern.test(line)) found.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  return found;
}

Deno.test("no module re-exports another wholesale with export *", async () => {
  const wholesale = await linesMatching(/^\s*export\s+\*/, () => true);
  assert.deepEqual(wholesale, [], "name each export instead");
});

Deno.test("code outside internal/ imports the shared helpers only through internal/mod.ts", async () => {
  const direct = await linesMatching(
    /from "(\.\.\/)+internal\/(?!mod\.ts")[^"]+"/,
    (file) =>
      !file.startsWith("internal/") && !file.startsWith("tests/") && !file.endsWith("_test.ts"),
  );
  assert.deepEqual(direct, []);
});

Deno.test("the root entry exports the server, the edge connection and the errors they throw", async () => {
  const root = await import("../mod.ts");
  assert.deepEqual(Object.keys(root).sort(), [
    "AlreadyActiveError",
    "BadArgumentsError",
    "BadCredentialsError",
    "BlockedError",
    "BusyError",
    "CancelledError",
    "ConnectError",
    "ConnectionClosedError",
    "DataDirInUseError",
    "ERROR_CLASSES",
    "EdgeConnection",
    "InternalError",
    "InvalidDataError",
    "IoError",
    "NotFoundError",
    "NotLoggedInError",
    "OfflineError",
    "PUSHES",
    "ProtocolError",
    "ProtocolViolationError",
    "REQUESTS",
    "RESULTS",
    "RequestError",
    "RequestTimeoutError",
    "SelfTargetError",
    "StartupError",
    "StoreError",
    "TooLargeError",
    "UnavailableError",
    "UnsupportedVersionError",
    "startServer",
  ]);
});

Deno.test("the client entry is the root's edge half: everything but the server", async () => {
  const [root, client, server] = await Promise.all([
    import("../mod.ts"),
    import("../client/mod.ts"),
    import("../server/mod.ts"),
  ]);
  const serverNames = new Set(Object.keys(server));
  const rootEdgeNames = Object.keys(root).filter((name) => !serverNames.has(name)).sort();
  assert.deepEqual(Object.keys(client).sort(), rootEdgeNames);
  for (const name of rootEdgeNames) {
    assert.equal(
      (root as Record<string, unknown>)[name],
      (client as Record<string, unknown>)[name],
      name,
    );
  }
});

Deno.test("every error class a request can fail with is exported by the client entry", async () => {
  const client = await import("../client/mod.ts");
  for (const [code, errorClass] of Object.entries(client.ERROR_CLASSES)) {
    assert.equal((client as Record<string, unknown>)[errorClass.name], errorClass, code);
  }
});
