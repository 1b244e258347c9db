/**
 * `iotnet passwd <name>`: sets a device's password in the credentials file, stored as a
 * salted scrypt hash. The password is read without echo from a terminal (asked twice), or
 * from the first line of standard input when it is a pipe. The file is rewritten
 * atomically, so a running server reads either the old or the new file, never half.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { join } from "node:path";
import { splitLines } from "../client/line_input.ts";
import process from "node:process";
import { TerminalInput } from "../client/terminal_input.ts";
import { deviceNameProblem, MAX_PASSWORD_BYTES } from "../protocol/limits.ts";
import { setAccount } from "../server/credentials_writer.ts";
import {
  formatParams,
  HASH_PROFILE_ENV,
  HASH_PROFILES,
  hashParamsFromEnv,
  hashPassword,
} from "../server/password_hash.ts";
import { UsageError } from "./usage_error.ts";

/** Exit code when the password cannot be read or set. */
const FAILED = 1;

/** A problem the user can fix; printed as one line, exit 1. */
class PasswdError extends Error {
  override name = "PasswdError";
}

/** Builds the `passwd` subcommand; the action sets `Deno.exitCode`. */
export function passwdCommand() {
  return new Command("passwd")
    .description("set a device's password in the credentials file, stored as a scrypt hash")
    .argument("<name>", "device name (letters, digits, '.', '_', '-'; at most 32)")
    .option("--data-dir <dir>", "the server's data directory (default: current directory)")
    .option("--credentials <file>", "credentials file (default: <data-dir>/credentials.txt)")
    .addHelpText(
      "after",
      `
The password is read without echo from a terminal (typed twice), or from the first line
of standard input when it is a pipe: echo 'secret' | iotnet passwd watch1

The line "<name> <hash>" replaces the name's line (or is added); other lines are kept.
Hash cost: ${HASH_PROFILE_ENV}=${Object.keys(HASH_PROFILES).join("|")} (default standard:
${formatParams(HASH_PROFILES.standard)}; fast is for load tests only). See docs/SECURITY.md.`,
    )
    .action(async (name, opts) => {
      const problem = deviceNameProblem(name);
      if (problem) throw new UsageError(`<name>: ${problem}`);
      const dataDir = opts.dataDir ?? ".";
      if (opts.dataDir !== undefined) await requireDirectory(opts.dataDir);
      const path = opts.credentials ?? join(dataDir, "credentials.txt");
      let params;
      try {
        params = hashParamsFromEnv();
      } catch (error) {
        throw new UsageError(`${HASH_PROFILE_ENV}: ${(error as Error).message}`, { cause: error });
      }
      try {
        const password = Deno.stdin.isTerminal()
          ? await askTwice(name)
          : await firstLine(Deno.stdin.readable);
        checkPassword(password);
        if (params.N < HASH_PROFILES.standard.N) {
          console.error(
            `iotnet passwd: warning: ${HASH_PROFILE_ENV} selects a cheap hash, for load tests only`,
          );
        }
        const token = await hashPassword(password, params);
        const result = await setAccount(path, name, token);
        const what = result.replaced ? "changed" : "added";
        const dropped = result.removedDuplicates > 0
          ? `; removed ${result.removedDuplicates} later line(s) for ${name} that were ignored`
          : "";
        console.log(
          `password for ${name} ${what} in ${path} (scrypt ${formatParams(params)})${dropped}`,
        );
      } catch (error) {
        if (error instanceof UsageError) throw error;
        const message = error instanceof PasswdError
          ? error.message
          : `cannot set the password in ${path}: ${(error as Error).message}`;
        console.error(`iotnet passwd: ${message}`);
        Deno.exitCode = FAILED;
      }
    });
}

async function requireDirectory(dir: string): Promise<void> {
  try {
    if ((await Deno.stat(dir)).isDirectory) return;
  } catch (error) {
    throw new UsageError(`--data-dir ${dir} cannot be used: ${(error as Error).message}`, {
      cause: error,
    });
  }
  throw new UsageError(`--data-dir ${dir} is not a directory`);
}

/** Prompts on stderr (stdout stays for the result), reads twice without echo, compares. */
async function askTwice(name: string): Promise<string> {
  const input = new TerminalInput({ input: process.stdin, output: process.stderr });
  // Ctrl-C on an empty line cancels (on a typed one it clears it).
  input.onInterrupt = () => input.close();
  try {
    const first = await input.read(`New password for ${name}: `, { secret: true });
    if (first === null) throw new PasswdError("cancelled; the password was not changed");
    checkPassword(first);
    const second = await input.read("Retype the new password: ", { secret: true });
    if (second === null) throw new PasswdError("cancelled; the password was not changed");
    if (first !== second) {
      throw new PasswdError("the two passwords differ; the password was not changed");
    }
    return first;
  } finally {
    input.close();
  }
}

/** The first line of a pipe (without `\n` or `\r\n`). */
async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  for await (const line of splitLines(stream)) return line;
  throw new PasswdError("no password on standard input (expected it on the first line)");
}

/** What the server will accept at login (`MAX_PASSWORD_BYTES`) and what a terminal can type. */
function checkPassword(password: string): void {
  if (password === "") throw new PasswdError("the password is empty");
  if (new TextEncoder().encode(password).length > MAX_PASSWORD_BYTES) {
    throw new PasswdError(`the password is longer than ${MAX_PASSWORD_BYTES} bytes`);
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(password)) {
    throw new PasswdError("the password holds a control character");
  }
}
