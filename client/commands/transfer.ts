/**
 * UVF: a file sent to another device peer to peer over UDP, under a ticket the server
 * signed for the receiver. It runs behind the prompt and reports when it ends.
 *
 * @module
 */

import { basename, isAbsolute, join } from "node:path";
import { BadArgumentsError, NotFoundError } from "../../protocol/errors.ts";
import { visible } from "../../internal/mod.ts";
import { formatBytes } from "../progress.ts";
import type { DeviceArgs, TypedCommandSpec } from "./command.ts";

/** What a finished UVF reports (`--json` leaves out `ms`). */
export interface SentFile {
  device: string;
  /** The base name sent. */
  filename: string;
  bytes: number;
  /** Hex SHA-256, confirmed by the receiver. */
  sha256: string;
  retransmits: number;
  /** How long the transfer took. */
  ms: number;
}

/** UVF: asks the server for a ticket, then sends the file edge to edge. */
export const uvf: TypedCommandSpec<
  "UVF",
  DeviceArgs & { filename: string },
  SentFile,
  Omit<SentFile, "ms">
> = {
  word: "UVF",
  synopsis: "UVF device filename",
  summary: "send a file to another active device, peer to peer",
  background: "always",
  parse(args) {
    args.expect(2, "a device name and a file name");
    return { device: args.arg(0), filename: args.arg(1) };
  },
  async run(env, { device, filename }) {
    const path = isAbsolute(filename) ? filename : join(env.dir, filename);
    let size: number;
    try {
      const info = await Deno.stat(path);
      if (!info.isFile) throw new BadArgumentsError(`${path} is not a file`);
      size = info.size;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new NotFoundError(`${path} does not exist`, { cause: error });
      }
      throw error;
    }
    const name = basename(path);
    const intro = await env.connection.request("uvf", { to: device, filename: name, size });
    const progress = env.progress(`UVF ${name} → ${device}`);
    try {
      const sent = await env.peer.sendFile(intro, path, (done, total) => {
        progress.update(done, total);
      });
      return {
        device,
        filename: name,
        bytes: sent.bytes,
        sha256: sent.sha256,
        retransmits: sent.retransmits,
        ms: sent.ms,
      };
    } finally {
      progress.finish();
    }
  },
  render({ device, filename, bytes, ms }) {
    const rate = ms > 0 ? ` at ${formatBytes(Math.round((bytes / ms) * 1000))}/s` : "";
    return `Sent ${visible(filename)} (${formatBytes(bytes)}) to ${device}${rate}`;
  },
  json: ({ ms: _ms, ...fields }) => fields,
};
