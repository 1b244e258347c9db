/**
 * UED on the server: the file streams in as DATA frames, is validated and aggregated as
 * it passes, written to a temporary file, and renamed into place only when complete and
 * valid. Then its aggregates go to the store and a line to `upload-log.txt`, through the
 * commit journal of `server/file_commits.ts`.
 *
 * @module
 */

import {
  InvalidSamplesError,
  type SampleAggregates,
  SampleAggregator,
} from "../../protocol/samples.ts";
import { type FilePlot, PlotSummary } from "../../protocol/plot_summary.ts";
import type { RequestArgs, ResultFields } from "../../protocol/messages.ts";
import {
  BadArgumentsError,
  InvalidDataError,
  IoError,
  RequestError,
  TooLargeError,
} from "../../protocol/errors.ts";
import { type BufferPool, deferred } from "../../internal/mod.ts";
import type { CommandContext, StreamSink } from "../context.ts";
import type { Disk } from "../disk.ts";
import { describeIoError } from "../io_error.ts";
import { checkFileID } from "./file_id.ts";

/** Handles `upload`; resolves once the whole file is stored. */
export async function upload(
  ctx: CommandContext,
  args: RequestArgs<"upload">,
  requestId: number,
): Promise<ResultFields<"upload">> {
  const { fileID, bytes } = args;
  checkFileID(fileID);
  const { dataDir, disk, writeBatches, commits, clock, settings } = ctx.server;
  if (bytes < 0 || bytes > settings.maxUploadBytes) {
    throw new TooLargeError(
      `upload of ${bytes} bytes is over the server's ${settings.maxUploadBytes}-byte limit`,
    );
  }
  const path = dataDir.uploadPath(ctx.device, fileID);
  const temp = dataDir.tempPathFor(path);
  const sink = new UploadSink({ temp, expected: bytes, disk, batches: writeBatches });
  ctx.openStream(requestId, sink);
  let stored: StoredUpload;
  try {
    stored = await sink.done;
  } finally {
    ctx.closeStream(requestId, sink);
  }
  // Rename, record, log: in the journalled order of server/file_commits.ts, so a crash at
  // any step is finished or undone at the next start.
  await commits.upload({
    device: ctx.device,
    fileID,
    temp,
    bytes,
    uploadedAt: clock.now(),
    ...stored,
  });
  ctx.server.record({ kind: "upload", device: ctx.device, fileID, samples: stored.count, bytes });
  ctx.server.metrics.uploaded(bytes, clock.now());
  return { fileID, dataAmount: stored.count };
}

/**
 * Bytes an upload collects before writing them to its file: a 100 kB upload is one write,
 * a big one a write per 256 KiB. The first write of an upload creates its file in a trip
 * to the runtime's blocking thread pool; the appends of a big upload are made on the event
 * loop (see `UploadSink.#writeBatch`). The server's pool of write batches
 * (`ServerContext.writeBatches`) holds buffers of this size, passed on from one upload to
 * the next; an upload whose sender goes quiet writes its batch out and gives it back
 * (`rest`), so uploads that wait hold none.
 */
export const UPLOAD_WRITE_BYTES = 256 * 1024;

/**
 * Bytes an upload writes between the flushes it starts while it streams in: a big upload
 * goes to the disk as it arrives, in the background, instead of all in its final fsync,
 * which still covers the whole file.
 */
export const UPLOAD_FLUSH_BYTES = 16 * 1024 * 1024;

/** What an {@linkcode UploadSink} writes, and with what. */
interface UploadSinkOptions {
  /** The temporary file. */
  temp: string;
  /** The bytes the upload declared. */
  expected: number;
  disk: Disk;
  /** The server's write batches ({@linkcode UPLOAD_WRITE_BYTES} each). */
  batches: BufferPool;
}

/**
 * A complete, fsynced temporary upload: what it holds, its plot summary (made in the same
 * pass) and its inode for the journal.
 */
interface StoredUpload extends SampleAggregates {
  plot: FilePlot;
  ino: number | null;
}

/**
 * Writes one upload to its temporary file while checking and aggregating it. Its session
 * calls `write` only while holding its upload turn (server/upload_turns.ts).
 */
class UploadSink implements StreamSink {
  readonly #temp: string;
  readonly #expected: number;
  readonly #disk: Disk;
  readonly #batches: BufferPool;
  readonly #plot = new PlotSummary();
  readonly #aggregator = new SampleAggregator(this.#plot);
  readonly #done = deferred<StoredUpload>();
  /** Received bytes not yet written: from the pool while bytes flow, cut to a small upload. */
  #batch: Uint8Array | undefined;
  #batched = 0;
  /** The write of the batch in flight, if any: the batch must not go back to the pool. */
  #writing: Promise<void> | undefined;
  /** Bytes written since the last flush began. */
  #unflushed = 0;
  /** The flush in flight, or one that failed (for `#complete` to throw). */
  #flushing: Promise<void> | undefined;
  /** The write-out of a quiet spell ({@linkcode rest}), which the next bytes wait for. */
  #resting: Promise<void> | undefined;
  /** A write to the temporary file has begun, so it may exist and must go on failure. */
  #started = false;
  #received = 0;
  #finished = false;

  constructor(options: UploadSinkOptions) {
    this.#temp = options.temp;
    this.#expected = options.expected;
    this.#disk = options.disk;
    this.#batches = options.batches;
    // A zero-byte upload gets no DATA frames: finish now (the aggregator will refuse it).
    if (options.expected === 0) void this.#complete();
  }

  /** Resolves with the file's aggregates once all bytes arrived and are on disk. */
  get done(): Promise<StoredUpload> {
    return this.#done.promise;
  }

  async write(bytes: Uint8Array): Promise<boolean> {
    if (this.#finished) return false;
    this.#received += bytes.length;
    if (this.#received > this.#expected) {
      await this.#fail(
        new BadArgumentsError(`upload sent more than the ${this.#expected} bytes it declared`),
      );
      return false;
    }
    await this.#resting;
    if (this.#finished) return false; // abandoned while its batch was written out
    try {
      this.#aggregator.push(bytes);
      const batch = this.#batch ??= this.#batches.take()
        .subarray(0, Math.min(UPLOAD_WRITE_BYTES, this.#expected));
      for (let at = 0; at < bytes.length;) {
        const n = Math.min(bytes.length - at, batch.length - this.#batched);
        batch.set(bytes.subarray(at, at + n), this.#batched);
        this.#batched += n;
        at += n;
        if (this.#batched === batch.length) {
          await this.#writeBatch(batch);
          if (this.#finished) return false; // abandoned during the write
        }
      }
    } catch (error) {
      await this.#fail(error);
      return false;
    }
    if (this.#received === this.#expected) await this.#complete();
    return !this.#finished;
  }

  /** The sender went quiet: write out what is batched and give the batch back. */
  rest(): void {
    const batch = this.#batch;
    if (this.#finished || !batch || this.#resting) return;
    this.#resting = (async () => {
      try {
        if (this.#batched > 0) await this.#writeBatch(batch);
        this.#giveBatchBack();
      } catch (error) {
        await this.#fail(error);
      } finally {
        this.#resting = undefined;
      }
    })();
  }

  abort(reason: string): Promise<void> {
    return this.#fail(new IoError(`upload abandoned: ${reason}`));
  }

  /**
   * Writes the batch. The first write creates the temporary file in one trip to the
   * runtime's thread pool (open, write and close in one operation: an open handle would
   * cost a trip of its own, and each of a thousand uploads held a disk turn about 3 ms per
   * trip under load). Later ones, the appends of a big upload, are made right here on the
   * event loop: 256 KiB into the page cache take a fraction of the time checking them did,
   * and a trip took longer than the copy, waited for in the run queue of a busy machine
   * (docs/DECISIONS.md, "UED speed"). Both hold no file open between writes.
   */
  async #writeBatch(batch: Uint8Array): Promise<void> {
    const bytes = batch.subarray(0, this.#batched);
    if (this.#started) {
      Deno.writeFileSync(this.#temp, bytes, { append: true, create: false });
    } else {
      this.#started = true;
      this.#writing = this.#disk.run(() => Deno.writeFile(this.#temp, bytes, { createNew: true }));
      try {
        await this.#writing;
      } finally {
        this.#writing = undefined;
      }
    }
    this.#batched = 0;
    this.#flushAhead(bytes.length);
  }

  /**
   * Starts a flush of what is written once {@linkcode UPLOAD_FLUSH_BYTES} have been since
   * the last one began, unless one still runs: the final fsync then has little left to do.
   */
  #flushAhead(wrote: number): void {
    this.#unflushed += wrote;
    if (this.#unflushed < UPLOAD_FLUSH_BYTES || this.#flushing) return;
    this.#unflushed = 0;
    const flushing = this.#disk.run(async () => {
      using file = await Deno.open(this.#temp, { read: true });
      await file.syncData();
    });
    this.#flushing = flushing;
    // Done, it is forgotten; failed, it stays for #complete to throw (and is handled now,
    // as nothing may await it before then).
    flushing.then(() => {
      if (this.#flushing === flushing) this.#flushing = undefined;
    }, () => {});
  }

  /** Gives the batch to the next upload (unless a write still reads it). */
  #giveBatchBack(): void {
    if (this.#batch && !this.#writing) this.#batches.give(this.#batch);
    this.#batch = undefined;
  }

  async #complete(): Promise<void> {
    try {
      const aggregates = this.#aggregator.finish();
      if (this.#batch && this.#batched > 0) await this.#writeBatch(this.#batch);
      await this.#flushing;
      let ino: number | null;
      {
        // Opening the file just written, and its fstat, read no disk: no trip to the
        // thread pool for those, one for the fsync.
        using file = Deno.openSync(this.#temp, { read: true });
        await this.#disk.run(() => file.sync());
        ino = file.statSync().ino;
      }
      this.#finished = true;
      this.#giveBatchBack();
      this.#done.resolve({ ...aggregates, plot: this.#plot.finish(), ino });
    } catch (error) {
      await this.#fail(error);
    }
  }

  async #fail(error: unknown): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    this.#giveBatchBack();
    if (this.#started) {
      // A file still being created would outlive a removal that ran before it.
      await this.#writing?.catch(() => {});
      await this.#flushing?.catch(() => {});
      await this.#disk.run(() => Deno.remove(this.#temp)).catch(() => {});
    }
    this.#done.reject(asRequestError(error));
  }
}

function asRequestError(error: unknown): RequestError {
  if (error instanceof RequestError) return error;
  if (error instanceof InvalidSamplesError) return new InvalidDataError(error.message);
  return new IoError(`the server could not store the file: ${describeIoError(error)}`, {
    cause: error,
  });
}
