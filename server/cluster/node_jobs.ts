/**
 * Runs the jobs other nodes leave for this one in the shared database (SPEC §9): today,
 * removing this node's copy of a file deleted, or uploaded again, through another node.
 *
 * The rows are the truth; NOTIFY only wakes. This node takes its rows on start-up, after
 * every (re)LISTEN of the jobs channel (a NOTIFY sent while the listener was down is
 * lost, the row is not), on each NOTIFY naming it, and every {@linkcode NODE_JOB_POLL_MS}
 * in case a NOTIFY was missed without the listener noticing. A job is removed once it has
 * run; one that fails stays and runs again at the next wake-up. Running a job twice is
 * harmless (`FileCommits.dropCopy` keeps a copy its record names, and a missing file is
 * nothing to do).
 *
 * @module
 */

import type { Clock, TimerId } from "../../internal/mod.ts";
import type { FileCommits } from "../file_commits.ts";
import { describeIoError } from "../io_error.ts";
import type { NodeJobQueue } from "../store/postgres/node_jobs.ts";
import { decodeNodeJob, type NodeJob } from "./node_job.ts";

/** How often a node looks for jobs whose NOTIFY it may have missed. */
export const NODE_JOB_POLL_MS = 60_000;
/** Jobs read from the database at a time. */
export const NODE_JOB_BATCH = 100;

/** A subscription to the jobs channel. */
export interface JobsSubscription {
  unlisten(): Promise<void>;
}

/** What {@linkcode NodeJobs} works with. */
export interface NodeJobsOptions {
  /** This node's id: NOTIFY payloads naming it wake it. */
  node: string;
  /** This node's rows of `node_jobs`. */
  queue: NodeJobQueue;
  /**
   * Listens on the jobs channel: `onNotify` with each payload, `onListen` after each
   * LISTEN, the first and every one after the listener's connection was lost.
   */
  listen(onNotify: (payload: string) => void, onListen: () => void): Promise<JobsSubscription>;
  /** The data directory's changes (a job's file is removed under its lock). */
  commits: Pick<FileCommits, "dropCopy">;
  log: (line: string) => void;
  clock: Clock;
  /** Default {@linkcode NODE_JOB_POLL_MS}. */
  pollMs?: number;
}

/** The job runner of one node. */
export class NodeJobs implements AsyncDisposable {
  readonly #options: NodeJobsOptions;
  #subscription: JobsSubscription | undefined;
  #draining: Promise<void> | undefined;
  #again = false;
  #closed = false;
  #poll: TimerId | undefined;
  /** Jobs this iotnet cannot run, already reported: each is logged once. */
  readonly #reported = new Set<number>();

  private constructor(options: NodeJobsOptions) {
    this.#options = options;
  }

  /**
   * Starts listening and takes the jobs already waiting. A channel that cannot be
   * listened on is logged; the poll still finds the jobs.
   */
  static async start(options: NodeJobsOptions): Promise<NodeJobs> {
    const jobs = new NodeJobs(options);
    try {
      // The first LISTEN calls onListen: that takes the jobs already waiting.
      jobs.#subscription = await options.listen(
        (payload) => payload === options.node && jobs.wake(),
        () => jobs.wake(),
      );
    } catch (error) {
      options.log(`cannot listen for this node's jobs: ${describeIoError(error)}`);
      jobs.wake();
    }
    jobs.#schedulePoll();
    return jobs;
  }

  /** Takes this node's jobs now (or again right after the pass under way). */
  wake(): void {
    if (this.#closed) return;
    if (this.#draining) {
      this.#again = true;
      return;
    }
    this.#draining = this.#drain().finally(() => this.#draining = undefined);
  }

  /** Resolves once no pass over the jobs is under way or asked for. */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  /** Stops listening and polling, and waits for the pass under way. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#poll !== undefined) this.#options.clock.clearTimeout(this.#poll);
    await this.#subscription?.unlisten().catch(() => {});
    await this.idle();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #schedulePoll(): void {
    const { clock, pollMs = NODE_JOB_POLL_MS } = this.#options;
    this.#poll = clock.setTimeout(() => {
      this.wake();
      this.#schedulePoll();
    }, pollMs);
  }

  async #drain(): Promise<void> {
    const { queue, log } = this.#options;
    do {
      this.#again = false;
      try {
        let after = 0;
        for (;;) {
          const rows = await queue.take(after, NODE_JOB_BATCH);
          for (const row of rows) {
            after = row.id;
            const { job, problem } = decodeNodeJob(row);
            if (problem !== undefined) {
              if (!this.#reported.has(row.id)) log(`left node job ${row.id} alone: ${problem}`);
              this.#reported.add(row.id);
              continue;
            }
            try {
              await this.#run(job);
              await queue.done(row.id);
            } catch (error) {
              log(`node job ${row.id} failed, tried again later: ${describeIoError(error)}`);
            }
          }
          if (rows.length < NODE_JOB_BATCH) break;
        }
      } catch (error) {
        log(`cannot read this node's jobs, tried again later: ${describeIoError(error)}`);
      }
    } while (this.#again && !this.#closed);
  }

  async #run(job: NodeJob): Promise<void> {
    switch (job.kind) {
      case "remove_file": {
        const { device, fileID, reason, by } = job;
        if (await this.#options.commits.dropCopy(device, fileID)) {
          this.#options.log(
            `removed ${device}'s file ${fileID} from uploads/: ${reason} through node ${by}`,
          );
        }
      }
    }
  }
}
