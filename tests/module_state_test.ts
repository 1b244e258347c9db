/**
 * No module-global mutable state in the program's own code (issue 11): whatever changes
 * while a server or an edge runs belongs to an object made for it, so two servers (or
 * edges) in one process share nothing. This test reads the sources and lists every
 * top-level `let`/`var` and every top-level `const` that holds a fresh mutable object
 * (`new Map()`, `new Set()`, `[]`, a pool, a lock, a semaphore...).
 */

import assert from "node:assert/strict";
import { join, relative } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
/** The program's folders; tests and scripts may keep what they like. */
const FOLDERS = ["server", "client", "p2p", "protocol", "internal", "cli"];

/** Classes whose instances hold no state that changes (or that is only per call). */
const STATELESS = new Set(["TextEncoder", "TextDecoder", "RegExp", "URL"]);

/** Module state kept on purpose, with the reason. */
const ALLOWED: Record<string, string> = {
  "protocol/schema.ts COMPILED":
    "a cache of the validators compiled from the constant schema tables: the same for every server",
};

/**
 * Whether a constant's value is a fresh object that holds state: `new X(...)`, unless X
 * keeps none, or it is a collection built from a table (`new Map([...])`, only an empty
 * `new Map()` is filled later), an empty typed array, or only an argument of a chained
 * call (`new Date(...).getTime()`).
 */
function isFreshState(value: string): boolean {
  const created = /^new (\w+)\s*(?:<.*?>)?\((.*)$/.exec(value);
  if (!created) return false;
  const [, type, rest] = created as unknown as [string, string, string];
  if (STATELESS.has(type) || /\)\s*\./.test(rest)) return false;
  if (/^(Map|Set|WeakMap|WeakSet)$/.test(type)) return /^\)/.test(rest);
  if (/Array$/.test(type) && /^0\)/.test(rest)) return false;
  return true;
}

/** Top-level declarations of mutable state in `text`, as `name: line`. */
function moduleState(text: string): string[] {
  const found: string[] = [];
  for (const line of text.split("\n")) {
    const binding = /^(?:export )?(let|var) (\w+)/.exec(line);
    if (binding) {
      found.push(`${binding[2]}: ${line.trim()}`);
      continue;
    }
    const constant = /^(?:export )?const (\w+)(?:\s*:.*?)?\s+=\s+(.*)$/.exec(line);
    if (!constant) continue;
    const [, name, value] = constant as unknown as [string, string, string];
    if (/^\[\s*\];?$/.test(value) || /^\{\s*\};?$/.test(value) || isFreshState(value)) {
      found.push(`${name}: ${line.trim()}`);
    }
  }
  return found;
}

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sources(path);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) yield path;
  }
}

Deno.test("the program keeps no mutable state at module level", async () => {
  const offenders: string[] = [];
  for (const folder of FOLDERS) {
    for await (const path of sources(join(ROOT, folder))) {
      const file = relative(ROOT, path);
      for (const state of moduleState(await Deno.readTextFile(path))) {
        const name = state.slice(0, state.indexOf(":"));
        if (!(`${file} ${name}` in ALLOWED)) offenders.push(`${file}: ${state}`);
      }
    }
  }
  assert.deepEqual(
    offenders,
    [],
    "module-level state; make it a field of an object made per server (or per edge):\n" +
      offenders.join("\n"),
  );
});

Deno.test("the check finds each kind of module state, and passes constants", () => {
  const text = [
    "let running = 0;",
    "export let count = 1;",
    "const waiting: (() => void)[] = [];",
    "const LOCKS = new Map<string, Promise<void>>();",
    "const POOL = new BufferPool(1024, 4);",
    "export const CACHE = new WeakMap<object, string>();",
    "const encoder = new TextEncoder();",
    "const BY_CODE = new Map<number, string>([",
    "export const LIMIT = 5;",
    "  let inside = 0;",
    "const PATTERN = new RegExp(`^a$`);",
    "const SET = new Set<string>();",
    "const FROM = new Map<number, string>(",
    "const T0 = new Date(2026, 0, 15).getTime();",
    "const EMPTY = new Uint8Array(0);",
    "const SCRATCH = new Uint8Array(4096);",
    "const SLOTS = new Semaphore(4);",
  ].join("\n");
  assert.deepEqual(moduleState(text).map((s) => s.slice(0, s.indexOf(":"))), [
    "running",
    "count",
    "waiting",
    "LOCKS",
    "POOL",
    "CACHE",
    "SET",
    "SCRATCH",
    "SLOTS",
  ]);
});
