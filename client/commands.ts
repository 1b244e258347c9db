/**
 * Runs each parsed edge command: EDG on the local disk, the rest against the server.
 * Every outcome, success or failure, becomes a {@linkcode CommandResult}.
 *
 * @module
 */

import { basename, isAbsolute, join } from "node:path";
import { visible } from "../internal/visible_text.ts";
import { RequestError } from "../protocol/errors.ts";
import { PeerUnreachableError, TransferError } from "../p2p/mod.ts";
import { ConnectionClosedError, type EdgeConnection } from "./connection.ts";
import type { EdgeCommand } from "./command_parser.ts";
import { USAGE } from "./command_parser.ts";
import { generateDataFile } from "./generate.ts";
import type { CommandResult } from "./output.ts";
import type { PeerLink } from "./peer.ts";
import { formatBytes, type Progress } from "./progress.ts";

/** What commands run against. */
export interface CommandEnv {
  readonly connection: EdgeConnection;
  /** This device's name. */
  readonly device: string;
  /** Where data files are generated and received files land. */
  readonly dir: string;
  /** The peer channel (UVF, private chat). */
  readonly peer: PeerLink;
  /** Makes a progress reporter for a long transfer that holds the prompt (UED). */
  progress(label: string): Progress;
  /** Makes a progress reporter for a transfer running behind the prompt (UVF). */
  backgroundProgress(label: string): Progress;
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
        : devices.map((d) =>
          `${visible(d.name)}, active since ${visible(d.since)}, ${visible(d.ip)}, ` +
          `UDP port ${d.udpPort}`
        ).join("\n");
      return { cmd: "AED", ok: true, message, devices };
    }
    case "UVF":
      return await sendFile(env, command.device, command.filename);
    case "MESSAGE": {
      const { delivery } = await connection.request("message", {
        to: command.device,
        text: command.text,
      });
      return {
        cmd: "MESSAGE",
        ok: true,
        message: delivery === "online"
          ? `Message sent to ${command.device}`
          : `${command.device} is offline; the message will be delivered when it logs in`,
        device: command.device,
        delivery,
      };
    }
    case "BROADCAST": {
      const { delivered, refused } = await connection.request("broadcast", { text: command.text });
      const message = `Broadcast sent to ${delivered} device${delivered === 1 ? "" : "s"}` +
        (refused > 0 ? `; ${refused} could not receive it (they have blocked you)` : "");
      return { cmd: "BROADCAST", ok: true, message, delivered, refused };
    }
    case "WHOELSE": {
      const { devices } = await connection.request("whoelse", {});
      return {
        cmd: "WHOELSE",
        ok: true,
        message: devices.length
          ? devices.map((d) => visible(d)).join("\n")
          : "No other devices are online",
        devices,
      };
    }
    case "WHOELSESINCE": {
      const { devices } = await connection.request("whoelsesince", { seconds: command.seconds });
      return {
        cmd: "WHOELSESINCE",
        ok: true,
        message: devices.length
          ? devices.map((d) => visible(d)).join("\n")
          : `No other devices were online in the last ${command.seconds} s`,
        devices,
      };
    }
    case "BLOCK":
    case "UNBLOCK": {
      const op = command.cmd === "BLOCK" ? "block" : "unblock";
      await connection.request(op, { device: command.device });
      if (op === "block") env.peer.blocked(command.device);
      return {
        cmd: command.cmd,
        ok: true,
        message: `${command.device} is ${op}ed`,
        device: command.device,
      };
    }
    case "STARTPRIVATE":
      await connection.request("startprivate", { device: command.device });
      return {
        cmd: "STARTPRIVATE",
        ok: true,
        message: `Asked ${command.device} for a private chat; waiting for the answer`,
        device: command.device,
      };
    case "PRIVATE":
      await env.peer.sendChat(command.device, command.text);
      return {
        cmd: "PRIVATE",
        ok: true,
        message: `Private message sent to ${command.device}`,
        device: command.device,
      };
    case "STOPPRIVATE":
      env.peer.endChat(command.device);
      await connection.request("stopprivate", { device: command.device });
      return {
        cmd: "STOPPRIVATE",
        ok: true,
        message: `Private chat with ${command.device} ended`,
        device: command.device,
      };
    case "OUT":
      await connection.request("logout", {});
      return { cmd: "OUT", ok: true, message: `Bye, ${env.device}!` };
    case "HELP":
      return { cmd: "HELP", ok: true, message: helpText() };
  }
}

/** UVF: asks the server for a ticket, then sends the file edge to edge over UDP. */
async function sendFile(env: CommandEnv, device: string, filename: string): Promise<CommandResult> {
  const path = isAbsolute(filename) ? filename : join(env.dir, filename);
  let size: number;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) return fail("UVF", "bad_args", `${path} is not a file`);
    size = info.size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return fail("UVF", "not_found", `${path} does not exist`);
    }
    throw error;
  }
  const name = basename(path);
  const intro = await env.connection.request("uvf", { to: device, filename: name, size });
  const progress = env.backgroundProgress(`UVF ${name} → ${device}`);
  try {
    const result = await env.peer.sendFile(
      intro,
      path,
      (sent, total) => progress.update(sent, total),
    );
    const rate = result.ms > 0
      ? formatBytes(Math.round((result.bytes / result.ms) * 1000)) + "/s"
      : "";
    return {
      cmd: "UVF",
      ok: true,
      message: `Sent ${visible(name)} (${formatBytes(result.bytes)}) to ${device}${
        rate ? ` at ${rate}` : ""
      }`,
      device,
      filename: name,
      bytes: result.bytes,
      sha256: result.sha256,
      retransmits: result.retransmits,
    };
  } finally {
    progress.finish();
  }
}

/** The command list. */
export function helpText(): string {
  return ["Commands:", ...Object.values(USAGE).map((u) => `  ${u}`)].join("\n");
}

function fail(cmd: string, error: string, message: string): CommandResult {
  return { cmd, ok: false, error, message };
}

/**
 * Turns any error into a failed result with a stable code. Its message may quote the
 * server or a peer (an ABORT's reason), so it is made visible.
 */
export function failure(cmd: string, error: unknown): CommandResult {
  const message = visible(error instanceof Error ? error.message : String(error));
  if (error instanceof RequestError) return fail(cmd, error.code, message);
  if (error instanceof ConnectionClosedError) {
    return fail(cmd, "offline", `lost the connection to the server: ${message}`);
  }
  if (error instanceof PeerUnreachableError) return fail(cmd, "offline", message);
  if (error instanceof TransferError) {
    return fail(cmd, error.reason === "blocked" ? "blocked" : "io", message);
  }
  return fail(cmd, "io", message);
}
