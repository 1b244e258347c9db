/**
 * Runs each parsed edge command: EDG on the local disk, the rest against the server.
 * Every outcome, success or failure, becomes a {@linkcode CommandResult}.
 *
 * @module
 */

import { join } from "node:path";
import { RemoteError } from "../protocol/errors.ts";
import { ConnectionClosedError, type EdgeConnection } from "./connection.ts";
import type { EdgeCommand } from "./command_parser.ts";
import { USAGE } from "./command_parser.ts";
import { generateDataFile } from "./generate.ts";
import type { CommandResult } from "./output.ts";
import type { Progress } from "./progress.ts";

/** What commands run against. */
export interface CommandEnv {
  readonly connection: EdgeConnection;
  /** This device's name. */
  readonly device: string;
  /** Where data files are generated and received files land. */
  readonly dir: string;
  /** Makes a progress reporter for a long transfer. */
  progress(label: string): Progress;
}

/** The path of this device's data file `fileID`. */
export function dataFilePath(env: Pick<CommandEnv, "device" | "dir">, fileID: number): string {
  return join(env.dir, `${env.device}-${fileID}.txt`);
}

/** Runs one command; never throws. */
export async function runCommand(env: CommandEnv, command: EdgeCommand): Promise<CommandResult> {
  try {
    return await run(env, command);
  } catch (error) {
    return failure(command.cmd, error);
  }
}

async function run(env: CommandEnv, command: EdgeCommand): Promise<CommandResult> {
  const { connection } = env;
  switch (command.cmd) {
    case "EDG": {
      const path = dataFilePath(env, command.fileID);
      const bytes = await generateDataFile(path, command.dataAmount);
      return {
        cmd: "EDG",
        ok: true,
        message: `Generated ${command.dataAmount} samples into ${path}`,
        fileID: command.fileID,
        dataAmount: command.dataAmount,
        path,
        bytes,
      };
    }
    case "UED": {
      const path = dataFilePath(env, command.fileID);
      let file: Deno.FsFile;
      try {
        file = await Deno.open(path, { read: true });
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          return fail(
            "UED",
            "not_found",
            `${path} does not exist; generate it first with EDG ${command.fileID} <dataAmount>`,
          );
        }
        throw error;
      }
      using _ = file;
      const { size } = await file.stat();
      const progress = env.progress("UED");
      try {
        const result = await connection.upload(
          command.fileID,
          file,
          size,
          (d, t) => progress.update(d, t),
        );
        return {
          cmd: "UED",
          ok: true,
          message: `Uploaded file ${command.fileID} (${result.dataAmount} samples) to the server`,
          fileID: result.fileID,
          dataAmount: result.dataAmount,
        };
      } finally {
        progress.finish();
      }
    }
    case "SCS": {
      const r = await connection.request("compute", {
        fileID: command.fileID,
        operation: command.operation,
      });
      return {
        cmd: "SCS",
        ok: true,
        message: `${r.op} of file ${command.fileID} is ${r.result}`,
        fileID: command.fileID,
        op: r.op,
        result: r.result,
      };
    }
    case "DTE": {
      const r = await connection.request("delete", { fileID: command.fileID });
      return {
        cmd: "DTE",
        ok: true,
        message: `Deleted file ${r.fileID} from the server`,
        fileID: r.fileID,
      };
    }
    case "AED": {
      const { devices } = await connection.request("devices", {});
      const message = devices.length === 0
        ? "No other active edge devices"
        : devices.map((d) => `${d.name}, active since ${d.since}, ${d.ip}, UDP port ${d.udpPort}`)
          .join("\n");
      return { cmd: "AED", ok: true, message, devices };
    }
    case "UVF":
      return fail("UVF", "bad_args", "UVF is not available in this build");
    case "OUT":
      await connection.request("logout", {});
      return { cmd: "OUT", ok: true, message: `Bye, ${env.device}!` };
    case "HELP":
      return { cmd: "HELP", ok: true, message: helpText() };
  }
}

/** The command list. */
export function helpText(): string {
  return ["Commands:", ...Object.values(USAGE).map((u) => `  ${u}`)].join("\n");
}

function fail(cmd: string, error: string, message: string): CommandResult {
  return { cmd, ok: false, error, message };
}

/** Turns any error into a failed result with a stable code. */
export function failure(cmd: string, error: unknown): CommandResult {
  if (error instanceof RemoteError) return fail(cmd, error.code, error.message);
  if (error instanceof ConnectionClosedError) {
    return fail(cmd, "offline", `lost the connection to the server: ${error.message}`);
  }
  return fail(cmd, "io", (error as Error).message);
}
