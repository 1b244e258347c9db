/**
 * The `node_jobs` table: durable jobs one node leaves for another (`server/cluster/node_job.ts`).
 * A job is queued in the same transaction as the change that calls for it (`files.ts`),
 * with a `pg_notify` on {@linkcode NODE_JOBS_CHANNEL} that PostgreSQL sends on commit; the
 * row stays until the node has run it, so a node that was down or missed the NOTIFY runs
 * it when it next looks (`server/cluster/node_jobs.ts`).
 *
 * @module
 */

import type { Sql } from "postgres";
import type { NodeJobRow } from "../../cluster/node_job.ts";

/**
 * The channel that wakes a node when a job is queued for it; the payload is the node's id.
 * One channel for every node, not one each: a channel name is an identifier of at most 63
 * bytes, where a node id alone may have 64 characters.
 */
export const NODE_JOBS_CHANNEL = "iotnet_node_jobs";

/** A queued job: its row id, its kind and payload, and when it was queued (ms epoch). */
export interface QueuedNodeJob extends NodeJobRow {
  id: number;
  created: number;
}

/** One node's queue of jobs. */
export interface NodeJobQueue {
  /** The node's jobs with an id above `after`, oldest first, at most `limit`. */
  take(after: number, limit: number): Promise<QueuedNodeJob[]>;
  /** Removes a job that has been run. */
  done(id: number): Promise<void>;
}

/**
 * The jobs queued for node `node` in the database behind `sql`.
 *
 * @param sql the node's pool.
 * @param node the node's id.
 */
export function postgresNodeJobs(sql: Sql, node: string): NodeJobQueue {
  return {
    async take(after: number, limit: number): Promise<QueuedNodeJob[]> {
      const rows = await sql<{ id: string; kind: string; payload: string; created: string }[]>`
        SELECT id, kind, payload, created FROM node_jobs
        WHERE node = ${node} AND id > ${after} ORDER BY id LIMIT ${limit}`;
      return rows.map((r) => ({
        id: Number(r.id),
        kind: r.kind,
        payload: r.payload,
        created: Number(r.created),
      }));
    },

    async done(id: number): Promise<void> {
      await sql`DELETE FROM node_jobs WHERE id = ${id} AND node = ${node}`;
    },
  };
}
