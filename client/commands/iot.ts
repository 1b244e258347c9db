/**
 * The IoT commands of SPEC §3 (EDG, UED, SCS, DTE, AED): data files generated on the
 * local disk, uploaded to the server and computed over there.
 *
 * @module
 */

import { join } from "node:path";
import { OPERATIONS } from "../../protocol/compute.ts";
import { NotFoundError } from "../../protocol/errors.ts";
import { MAX_GENERATE_SAMPLES } from "../../protocol/limits.ts";
import { visible } from "../../internal/mod.ts";
import { generateDataFile } from "../generate.ts";
import type { RequestArgs, ResultFields } from "../../protocol/messages.ts";
import type { CommandEnv, NoArgs, TypedCommandSpec } from "./command.ts";

/** The argument of the commands that name one file. */
export interface FileArgs {
  fileID: number;
}

/** The path of this device's data file `fileID`. */
export function dataFilePath(env: Pick<CommandEnv, "device" | "dir">, fileID: number): string {
  return join(env.dir, `${env.device}-${fileID}.txt`);
}

/** EDG: generates a data file of random samples. */
export const edg: TypedCommandSpec<
  "EDG",
  { fileID: number; dataAmount: number },
  { fileID: number; dataAmount: number; path: string; bytes: number }
> = {
  word: "EDG",
  synopsis: "EDG fileID dataAmount",
  summary: "generate dataAmount random integers into <name>-<fileID>.txt",
  parse(args) {
    args.expect(2, "a fileID and a dataAmount");
    const fileID = args.fileID(0);
    return { fileID, dataAmount: args.integer(1, "dataAmount", 1, MAX_GENERATE_SAMPLES) };
  },
  async run(env, { fileID, dataAmount }) {
    const path = dataFilePath(env, fileID);
    const bytes = await generateDataFile(path, dataAmount);
    return { fileID, dataAmount, path, bytes };
  },
  render: ({ dataAmount, path }) => `Generated ${dataAmount} samples into ${path}`,
};

/** UED: uploads a data file, the server checking it as it streams. */
export const ued: TypedCommandSpec<"UED", FileArgs, ResultFields<"upload">> = {
  word: "UED",
  synopsis: "UED fileID",
  summary: "upload <name>-<fileID>.txt to the server (Ctrl-C cancels)",
  background: "terminal",
  cancellable: true,
  parse(args) {
    args.expect(1, "a fileID");
    return { fileID: args.fileID(0) };
  },
  async run(env, { fileID }) {
    const path = dataFilePath(env, fileID);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new NotFoundError(
          `${path} does not exist; generate it first with EDG ${fileID} <dataAmount>`,
          { cause: error },
        );
      }
      throw error;
    }
    using _ = file;
    const { size } = await file.stat();
    const progress = env.progress(`UED ${fileID}`);
    try {
      const result = await env.connection.upload(fileID, file, size, {
        onProgress: (done, total) => progress.update(done, total),
        signal: env.signal,
      });
      return { fileID: result.fileID, dataAmount: result.dataAmount };
    } finally {
      progress.finish();
    }
  },
  render: ({ dataAmount }, { fileID }) =>
    `Uploaded file ${fileID} (${dataAmount} samples) to the server`,
};

/** SCS: one of the four operations over an uploaded file, computed by the server. */
export const scs: TypedCommandSpec<
  "SCS",
  FileArgs & RequestArgs<"compute">,
  FileArgs & ResultFields<"compute">
> = {
  word: "SCS",
  synopsis: "SCS fileID OP",
  summary: `compute OP (${OPERATIONS.join(", ")}) over an uploaded file`,
  parse(args) {
    args.expect(2, "a fileID and an operation");
    const fileID = args.fileID(0);
    return { fileID, operation: args.operation(1) };
  },
  async run(env, { fileID, operation }) {
    const { op, result } = await env.connection.request("compute", { fileID, operation });
    return { fileID, op, result };
  },
  render: ({ fileID, op, result }) => `${op} of file ${fileID} is ${result}`,
};

/** DTE: deletes an uploaded file from the server. */
export const dte: TypedCommandSpec<"DTE", FileArgs, FileArgs> = {
  word: "DTE",
  synopsis: "DTE fileID",
  summary: "delete an uploaded file from the server",
  parse(args) {
    args.expect(1, "a fileID");
    return { fileID: args.fileID(0) };
  },
  async run(env, { fileID }) {
    const deleted = await env.connection.request("delete", { fileID });
    return { fileID: deleted.fileID };
  },
  render: ({ fileID }) => `Deleted file ${fileID} from the server`,
};

/** AED: the other active devices, with where they listen for peer traffic. */
export const aed: TypedCommandSpec<"AED", NoArgs, ResultFields<"devices">> = {
  word: "AED",
  synopsis: "AED",
  summary: "list the other active edge devices",
  parse: (args) => args.none(),
  async run(env) {
    const { devices } = await env.connection.request("devices", {});
    return { devices };
  },
  render: ({ devices }) =>
    devices.length === 0
      ? "No other active edge devices"
      : devices.map((d) =>
        `${visible(d.name)}, active since ${visible(d.since)}, ${visible(d.ip)}, ` +
        `UDP port ${d.udpPort}`
      ).join("\n"),
};
