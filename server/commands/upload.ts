/**
 * UED on the server: the file streams in as DATA frames, is validated and aggregated as
 * it passes, written to a temporary file, and renamed into place only when complete and
 * valid. Then its aggregates go to the store and a line to `upload-log.txt`, through the
 * commit journal of `server/recovery.ts`.
 *
 * @module
 */

import {
  InvalidSamplesError,
  type SampleAggregates,
  SampleAggregator,
} from "../../protocol/samples.ts";
import type { RequestArgs, ResultFields } from "../../protocol/messages.ts";
import { deferred } from "../../internal/deferred.ts";
import { type CommandContext, CommandError, type StreamSink } from "../context.ts";
import { commitUpload, describeIoError } from "../recovery.ts";
import { checkFileID } from "./file_id.ts";

/** Handles `upload`; resolves once the whole file is stored. */
export async function upload(
  ctx: CommandContext,
  args: RequestArgs<"upload">,
  requestId: number,
): Promise<ResultFields<"upload">> {
  const { fileID, bytes } = args;
  checkFileID(fileID);
  const { dataDir, clock, log, settings } = ctx.server;
  if (bytes < 0 || bytes > settings.maxUploadBytes) {
    throw new CommandError(
      "too_large",
      `upload of ${bytes} bytes is over the server's ${settings.maxUploadBytes}-byte limit`,
    );
  }
  const path = dataDir.uploadPath(ctx.device, fileID);
  const temp = dataDir.tempPathFor(path);
  const sink = new UploadSink(temp, bytes);
  ctx.openStream(requestId, sink);
  let aggregates: SampleAggregates;
  try {
    aggregates = await sink.done;
  } finally {
    ctx.closeStream(requestId);
  }
  // Rename, record, log: in the journalled order of server/recovery.ts, so a crash at any
  // step is finished or undone at the next start.
  await commitUpload(ctx.server, {
    device: ctx.device,
    fileID,
    temp,
    bytes,
    uploadedAt: clock.now(),
    ...aggregates,
  });
  log(`${ctx.device} uploaded file ${fileID} (${aggregates.count} samples, ${bytes} bytes)`);
  return { fileID, dataAmount: aggregates.count };
}

/** Writes one upload to its temporary file while checking and aggregating it. */
class UploadSink implements StreamSink {
  readonly #temp: string;
  readonly #expected: number;
  readonly #aggregator = new SampleAggregator();
  readonly #done = deferred<SampleAggregates>();
  #file: Promise<Deno.FsFile> | undefined;
  #received = 0;
  #finished = false;

  constructor(temp: string, expected: number) {
    this.#temp = temp;
    this.#expected = expected;
    // A zero-byte upload gets no DATA frames: finish now (the aggregator will refuse it).
    if (expected === 0) void this.#complete();
  }

  /** Resolves with the file's aggregates once all bytes arrived and are on disk. */
  get done(): Promise<SampleAggregates> {
    return this.#done.promise;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#finished) return;
    this.#received += bytes.length;
    if (this.#received > this.#expected) {
      return this.#fail(
        new CommandError(
          "bad_args",
          `upload sent more than the ${this.#expected} bytes it declared`,
        ),
      );
    }
    try {
      this.#aggregator.push(bytes);
      const file = await this.#open();
      for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
    } catch (error) {
      return this.#fail(error);
    }
    if (this.#received === this.#expected) await this.#complete();
  }

  abort(reason: string): Promise<void> {
    return this.#fail(new CommandError("io", `upload abandoned: ${reason}`));
  }

  #open(): Promise<Deno.FsFile> {
    return this.#file ??= Deno.open(this.#temp, { write: true, createNew: true });
  }

  async #complete(): Promise<void> {
    try {
      const aggregates = this.#aggregator.finish();
      const file = await this.#open();
      await file.sync();
      file.close();
      this.#finished = true;
      this.#done.resolve(aggregates);
    } catch (error) {
      await this.#fail(error);
    }
  }

  async #fail(error: unknown): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#file) {
      await this.#file.then((f) => f.close()).catch(() => {});
      await Deno.remove(this.#temp).catch(() => {});
    }
    this.#done.reject(asCommandError(error));
  }
}

function asCommandError(error: unknown): CommandError {
  if (error instanceof CommandError) return error;
  if (error instanceof InvalidSamplesError) return new CommandError("invalid_data", error.message);
  return new CommandError(
    "io",
    `the server could not store the file: ${describeIoError(error)}`,
    { cause: error },
  );
}
