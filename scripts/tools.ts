/**
 * The reference tools that run beside iotnet, in one table: each command with the Debian
 * package that installs it. The benchmarks import {@linkcode ensureTools} and
 * {@linkcode installMissing}; people and `.ci/run` use the CLI:
 *
 * ```sh
 * deno run -A scripts/tools.ts --list
 * deno run -A scripts/tools.ts --check [tool|group...]     # exit 1 when one is missing
 * deno run -A scripts/tools.ts --install [tool|group...]   # apt-get what is missing
 * ```
 *
 * With no tool named, every tool of the table. Groups: `bench` (what `deno task bench`
 * measures iotnet beside) and `ci` (what CI will need for the coming features). Installing
 * takes root and `apt-get` (Debian, Ubuntu); on anything else `--check` still works and
 * the message names the packages to install by hand. Starting a service (PostgreSQL, say)
 * is the caller's step after `--install`.
 *
 * @module
 */

import { parseCli, usageError } from "./_cli.ts";

/** One reference tool. */
export interface Tool {
  /** What is looked up: a command name found on `PATH`, or an absolute path. */
  command: string;
  /** The Debian package that provides it. */
  package: string;
  /** Who needs it. */
  group: ToolGroup;
  /** What it is used for. */
  use: string;
}

/** `bench`: `deno task bench`; `ci`: CI, for the features that follow. */
export type ToolGroup = "bench" | "ci";

/** Every reference tool, by the name the CLI and the benchmarks use. */
export const TOOLS = {
  socat: { command: "socat", package: "socat", group: "bench", use: "TCP and TLS copy (ued, uvf)" },
  gawk: { command: "gawk", package: "gawk", group: "bench", use: "exact SCS figures (ued)" },
  atftp: { command: "atftp", package: "atftp", group: "bench", use: "TFTP client (uvf)" },
  atftpd: { command: "atftpd", package: "atftpd", group: "bench", use: "TFTP server (uvf)" },
  mosquitto: {
    command: "mosquitto",
    package: "mosquitto",
    group: "bench",
    use: "MQTT fan-out (broadcast)",
  },
  postgres: {
    command: "/usr/lib/postgresql/15/bin/postgres",
    package: "postgresql-15",
    group: "ci",
    use: "PostgreSQL 15 server",
  },
  chromium: { command: "chromium", package: "chromium", group: "ci", use: "headless browser" },
  promtool: {
    command: "promtool",
    package: "prometheus",
    group: "ci",
    use: "Prometheus exposition check",
  },
  haproxy: { command: "haproxy", package: "haproxy", group: "ci", use: "TCP/TLS proxy" },
  tmux: { command: "tmux", package: "tmux", group: "ci", use: "terminal sessions" },
  openssl: { command: "openssl", package: "openssl", group: "ci", use: "certificates" },
} as const satisfies Record<string, Tool>;

/** The name of a tool of {@linkcode TOOLS}. */
export type ToolName = keyof typeof TOOLS;

const GROUPS: readonly ToolGroup[] = ["bench", "ci"];

/** How long apt-get waits for another apt-get or dpkg on the machine to let go of its lock. */
const APT_LOCK_WAIT_SECONDS = 300;

/**
 * The tools that tool and group names stand for, each once, in table order.
 *
 * @param names tool names and group names; none means every tool.
 * @returns the tools named.
 * @throws {RangeError} naming the first name that is neither a tool nor a group.
 */
export function selectTools(names: readonly string[]): ToolName[] {
  const all = Object.keys(TOOLS) as ToolName[];
  if (names.length === 0) return all;
  const chosen = new Set<ToolName>();
  for (const name of names) {
    if (isToolName(name)) chosen.add(name);
    else if ((GROUPS as readonly string[]).includes(name)) {
      for (const tool of all) if (TOOLS[tool].group === name) chosen.add(tool);
    } else {
      throw new RangeError(
        `unknown tool ${name}; choose from ${all.join(", ")} or a group (${GROUPS.join(", ")})`,
      );
    }
  }
  return all.filter((tool) => chosen.has(tool));
}

function isToolName(name: string): name is ToolName {
  return Object.hasOwn(TOOLS, name);
}

/**
 * Where `command` is: itself when it is an absolute path to an executable file, else the
 * first executable file of that name in the directories of `searchPath`.
 *
 * @param command a command name or an absolute path.
 * @param searchPath a `PATH` value; default this process's.
 * @returns the executable's path, or `undefined` when there is none.
 */
export function findCommand(
  command: string,
  searchPath: string = Deno.env.get("PATH") ?? "",
): string | undefined {
  const candidates = command.startsWith("/")
    ? [command]
    : searchPath.split(":").filter((dir) => dir !== "").map((dir) => `${dir}/${command}`);
  return candidates.find(isExecutableFile);
}

function isExecutableFile(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/**
 * The tools among `names` whose command is not found.
 *
 * @param names tools to look for.
 * @param find how a command is looked up; default {@linkcode findCommand}.
 * @returns the missing ones, in the order given.
 */
export function missingTools(
  names: readonly ToolName[],
  find: (command: string) => string | undefined = findCommand,
): ToolName[] {
  return names.filter((name) => find(TOOLS[name].command) === undefined);
}

/**
 * The apt-get runs that install the packages of `names`: one `update`, then one
 * `install` of every package, both waiting for a lock another apt-get holds.
 *
 * @param names tools to install.
 * @returns apt-get argument lists, in order; none when `names` is empty.
 */
export function aptGetRuns(names: readonly ToolName[]): string[][] {
  if (names.length === 0) return [];
  const packages = [...new Set(names.map((name) => TOOLS[name].package))];
  const lock = ["-o", `DPkg::Lock::Timeout=${APT_LOCK_WAIT_SECONDS}`];
  return [["update", "-qq", ...lock], ["install", "-y", "-qq", ...lock, ...packages]];
}

/** The hint for installing `names` by hand. */
export function installHint(names: readonly ToolName[]): string {
  const packages = [...new Set(names.map((name) => TOOLS[name].package))];
  return `install ${packages.length === 1 ? "it" : "them"} with: apt-get install ${
    packages.join(" ")
  } (as root), or run deno run -A scripts/tools.ts --install ${names.join(" ")}`;
}

/**
 * Installs the missing tools among `names` from Debian with apt-get, when there are any.
 *
 * @param names tools that must be there.
 * @param log receives a line before installing; default `console.error`.
 * @returns the tools still missing afterwards (none when all went well).
 */
export async function installMissing(
  names: readonly ToolName[],
  log: (line: string) => void = console.error,
): Promise<ToolName[]> {
  const missing = missingTools(names);
  if (missing.length === 0) return [];
  log(`installing ${missing.join(", ")} from Debian (apt-get)`);
  for (const args of aptGetRuns(missing)) {
    let code: number;
    try {
      ({ code } = await new Deno.Command("apt-get", {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "inherit",
        env: { DEBIAN_FRONTEND: "noninteractive" },
      }).output());
    } catch (error) {
      log(`cannot run apt-get (${(error as Error).message})`);
      break;
    }
    if (code !== 0) {
      log(`apt-get ${args[0]} failed (exit ${code})`);
      break;
    }
  }
  return missingTools(names);
}

/**
 * Makes sure every tool of `names` is there, installing the missing ones.
 *
 * @param names tools that must be there.
 * @throws {Error} naming the tools still missing and how to install them.
 */
export async function ensureTools(names: readonly ToolName[]): Promise<void> {
  const missing = await installMissing(names);
  if (missing.length > 0) {
    throw new Error(`${missing.join(", ")} not found and not installed; ${installHint(missing)}`);
  }
}

const USAGE =
  `usage: deno run -A scripts/tools.ts --list | --check [tool|group...] | --install [tool|group...]
  --list     the table: tool, group, command, Debian package, use
  --check    exit 0 when every tool named is there, 1 (naming the missing) when not
  --install  install the missing ones with apt-get (needs root), exit 1 if some are still missing
  tools: ${Object.keys(TOOLS).join(", ")}; groups: ${GROUPS.join(", ")}; none named: all`;

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseCli(args, {
    usage: USAGE,
    options: {
      list: { type: "boolean" },
      check: { type: "boolean" },
      install: { type: "boolean" },
    },
    positionals: true,
  });
  const modes = [values.list, values.check, values.install].filter(Boolean).length;
  if (modes !== 1) usageError(USAGE, "choose one of --list, --check and --install");
  let names: ToolName[] = [];
  try {
    names = selectTools(positionals);
  } catch (error) {
    usageError(USAGE, (error as Error).message);
  }
  if (values.list) {
    for (const name of names) {
      const tool: Tool = TOOLS[name];
      const found = findCommand(tool.command);
      console.log(
        [name, tool.group, tool.command, tool.package, tool.use, found ? "present" : "missing"]
          .join("\t"),
      );
    }
    return 0;
  }
  const missing = values.install ? await installMissing(names) : missingTools(names);
  if (missing.length === 0) {
    console.log(`present: ${names.join(", ")}`);
    return 0;
  }
  console.error(`missing: ${missing.join(", ")}; ${installHint(missing)}`);
  return 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
