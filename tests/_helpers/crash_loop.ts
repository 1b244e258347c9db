/**
 * Crash test of the server's data directory (SPEC §6): runs uploads, deletes and offline
 * messages against a real `iotnet server`, kills it with SIGKILL at a random moment
 * (seeded), restarts it on the same data directory and checks what survived against what
 * the clients were told:
 *
 * - every file in `uploads/` is byte for byte one the client uploaded, its record in the
 *   store and SCS's answers match it, and no `.part` file is left;
 * - an upload or delete the client saw acknowledged is never lost; one in flight at the
 *   kill is either fully done or not at all;
 * - `upload-log.txt` and `deletion-log.txt` hold one line, in the SPEC format, per upload
 *   or delete that happened (acknowledged, or finished by recovery) and nothing else;
 * - recovery only ever finishes or rolls back journalled changes (nothing else is found);
 * - offline messages: each one the sender was told is `stored` is delivered at the
 *   recipient's next login, and once the recipient's `ack` is answered it never comes
 *   again; one delivered but not acked before the kill may come again (at least once).
 *
 * `tests/fault_test.ts` runs a short loop in the suite; `scripts/crash_loop.ts` runs the
 * long one:
 *
 * ```sh
 * deno run -A scripts/crash_loop.ts [--iterations 120] [--seed 1]
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { EdgeConnection } from "../../client/connection.ts";
import { BusyError, NotFoundError, RequestError } from "../../protocol/errors.ts";
import type { Push } from "../../protocol/messages.ts";
import { ACCOUNTS, ServerProcess } from "./server_process.ts";

/** Options of {@linkcode crashLoop}. */
export interface CrashLoopOptions {
  /** Kills (and restarts) to run. */
  iterations: number;
  /** Seed of the PRNG that picks operations, sizes and kill moments. */
  seed: number;
  /** Longest time from the start of the traffic to the kill. Default 1200 ms. */
  maxKillDelayMs?: number;
  /** Progress lines; default none. */
  log?: (line: string) => void;
}

/** What a crash loop did and saw. */
export interface CrashSummary {
  iterations: number;
  seed: number;
  ms: number;
  uploads: { acked: number; committedUnacked: number; rolledBack: number };
  deletes: { acked: number; committedUnacked: number; rolledBack: number };
  messages: { stored: number; delivered: number; redelivered: number; acked: number };
  /** Start-up repairs by kind, from the server's `recovery:` lines. */
  repairs: Record<string, number>;
}

/** An invariant did not hold; the message says which, with the seed and iteration. */
export class CrashTestFailure extends Error {
  override name = "CrashTestFailure";
}

const UPLOADERS = ["dev0", "dev1", "dev2"];
/** Each uploader runs two flows, on disjoint file IDs, so one file has one change at a time. */
const FLOW_FILE_IDS = [[0, 1], [2, 3]];
const SENDER = "dev10";
const RECIPIENTS = ["dev11", "dev12"];

interface Content {
  text: string;
  count: number;
  sum: bigint;
  min: number;
  max: number;
  bytes: number;
}

interface FileModel {
  /** What the file is known to be (null: absent). */
  state: Content | null;
  /** The change sent but not answered when the server died. */
  inflight?: { kind: "upload"; content: Content } | { kind: "delete" } | undefined;
  /** dataAmount of every upload that happened, in order: the expected log lines. */
  uploadLines: number[];
  deleteLines: number[];
}

interface Mailbox {
  /** Confirmed stored, not confirmed acked: must come at the next login. */
  due: Set<string>;
  /** May or may not be stored (the answer was lost), or acked without an answer. */
  maybe: Set<string>;
  /** Acked and answered: must never come again. */
  acked: Set<string>;
  /** Delivered at least once. */
  seen: Set<string>;
}

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** English month names, from `Intl` rather than the server's own table. */
const MONTHS = Array.from(
  { length: 12 },
  (_, month) => new Date(2000, month, 1).toLocaleString("en", { month: "long" }),
);
/** SPEC §2 `name; d MMMM yyyy HH:mm:ss; fileID; dataAmount`, written out independently. */
const LOG_LINE = new RegExp(
  `^([A-Za-z0-9][A-Za-z0-9._-]*); ([1-9]|[12][0-9]|3[01]) (${MONTHS.join("|")}) ([0-9]{4}) ` +
    `([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]); ([0-9]+); ([0-9]+)$`,
);

/**
 * Runs the kill-and-restart loop.
 *
 * @returns counts of what happened.
 * @throws {CrashTestFailure} at the first invariant that does not hold.
 */
export async function crashLoop(options: CrashLoopOptions): Promise<CrashSummary> {
  const started = Date.now();
  const random = prng(options.seed);
  const log = options.log ?? (() => {});
  const maxKillDelayMs = options.maxKillDelayMs ?? 1200;
  const work = await Deno.makeTempDir({ prefix: "iotnet-crash-work-" });
  const summary: CrashSummary = {
    iterations: 0,
    seed: options.seed,
    ms: 0,
    uploads: { acked: 0, committedUnacked: 0, rolledBack: 0 },
    deletes: { acked: 0, committedUnacked: 0, rolledBack: 0 },
    messages: { stored: 0, delivered: 0, redelivered: 0, acked: 0 },
    repairs: {},
  };
  const files = new Map<string, FileModel>();
  for (const device of UPLOADERS) {
    for (const id of FLOW_FILE_IDS.flat()) {
      files.set(`${device}-${id}`, { state: null, uploadLines: [], deleteLines: [] });
    }
  }
  const mail = new Map<string, Mailbox>(RECIPIENTS.map((r) => [r, {
    due: new Set(),
    maybe: new Set(),
    acked: new Set(),
    seen: new Set(),
  }]));
  let serial = 0;
  let iteration = 0;
  function fail(what: string): never {
    throw new CrashTestFailure(`seed ${options.seed}, iteration ${iteration}: ${what}`);
  }

  function makeContent(): Content {
    const r = random();
    const count = r < 0.4
      ? 1 + Math.floor(random() * 50)
      : r < 0.85
      ? 1_000 + Math.floor(random() * 20_000)
      : 50_000 + Math.floor(random() * 50_000);
    // The first sample is a serial number: every upload's content is unique.
    const values = [++serial];
    for (let i = 1; i < count; i++) values.push(Math.floor((random() - 0.5) * 2e9));
    let sum = 0n;
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) {
      sum += BigInt(v);
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const text = values.join("\n") + "\n";
    return { text, count, sum, min, max, bytes: new TextEncoder().encode(text).length };
  }

  let server = await ServerProcess.start();
  const dataDir = server.dataDir;
  try {
    for (iteration = 1; iteration <= options.iterations; iteration++) {
      const connections: EdgeConnection[] = [];
      const connect = async (name: string, onPush?: (push: Push) => void) => {
        const c = await EdgeConnection.connect({
          hostname: "127.0.0.1",
          port: server.port,
          ...(onPush && { onPush }),
        });
        connections.push(c);
        await c.request("login", { name, password: ACCOUNTS[name]! });
        await c.request("udp_port", { port: 9 });
        return c;
      };
      const uploaders = await Promise.all(UPLOADERS.map((d) => connect(d)));
      const sender = await connect(SENDER);
      let killed = false;
      const killDelay = 20 + Math.floor(random() * maxKillDelayMs);
      const kill = new Promise<void>((resolve) =>
        setTimeout(() => {
          killed = true;
          resolve();
        }, killDelay)
      );

      const uploadFlow = async (device: string, conn: EdgeConnection, ids: number[]) => {
        while (!killed) {
          const fileID = ids[Math.floor(random() * ids.length)]!;
          const file = files.get(`${device}-${fileID}`)!;
          if (file.state && random() < 0.3) {
            file.inflight = { kind: "delete" };
            try {
              const r = await conn.request("delete", { fileID });
              if (r.dataAmount !== file.state.count) {
                fail(
                  `DTE ${device} ${fileID} said ${r.dataAmount} samples, not ${file.state.count}`,
                );
              }
            } catch (error) {
              if (error instanceof RequestError || !killed) {
                fail(`DTE ${device} ${fileID}: ${error}`);
              }
              return;
            }
            file.deleteLines.push(file.state.count);
            file.state = null;
            file.inflight = undefined;
            summary.deletes.acked++;
          } else if (!file.state && random() < 0.1) {
            try {
              await conn.request("delete", { fileID });
              fail(`DTE ${device} ${fileID} of a file that does not exist succeeded`);
            } catch (error) {
              if (!(error instanceof RequestError) && killed) return;
              if (!(error instanceof NotFoundError)) {
                fail(`DTE of a missing file: ${error}`);
              }
            }
          } else {
            const content = makeContent();
            const path = join(work, `upload-${serial}.txt`);
            await Deno.writeTextFile(path, content.text);
            file.inflight = { kind: "upload", content };
            try {
              using handle = await Deno.open(path, { read: true });
              const r = await conn.upload(fileID, handle, content.bytes);
              if (r.dataAmount !== content.count) {
                fail(`UED ${device} ${fileID} said ${r.dataAmount} samples, not ${content.count}`);
              }
            } catch (error) {
              if (error instanceof RequestError || !killed) {
                fail(`UED ${device} ${fileID}: ${error}`);
              }
              return;
            } finally {
              await Deno.remove(path);
            }
            file.uploadLines.push(content.count);
            file.state = content;
            file.inflight = undefined;
            summary.uploads.acked++;
          }
        }
      };

      const senderFlow = async () => {
        for (let k = 0; !killed; k++) {
          const to = RECIPIENTS[Math.floor(random() * RECIPIENTS.length)]!;
          const box = mail.get(to)!;
          const text = `m${iteration}.${k}`;
          box.maybe.add(text);
          try {
            const r = await sender.request("message", { to, text });
            if (r.delivery === "stored") summary.messages.stored++;
            // A stored message can be read once its group commits, a moment before it is
            // durable and the sender is told: the recipient may have got (and acked) it
            // already, and then its own bookkeeping is the truth.
            if (!box.seen.has(text)) {
              box.maybe.delete(text);
              if (r.delivery === "stored") box.due.add(text);
            }
          } catch (error) {
            if (error instanceof BusyError) {
              box.maybe.delete(text);
            } else if (error instanceof RequestError || !killed) {
              fail(`message to ${to}: ${error}`);
            } else {
              return;
            }
          }
          await new Promise((r) => setTimeout(r, 5 + random() * 30));
        }
      };

      /** One login of a recipient: its stored messages are checked, some acked. */
      const receive = async (name: string): Promise<boolean> => {
        const box = mail.get(name)!;
        const batch: { id: number; text: string }[] = [];
        let conn: EdgeConnection;
        let due: Set<string>;
        try {
          conn = await EdgeConnection.connect({
            hostname: "127.0.0.1",
            port: server.port,
            onPush: (push) => {
              if (push.event === "message" && push.kind === "offline" && push.id !== undefined) {
                batch.push({ id: push.id, text: push.text });
              }
            },
          });
          connections.push(conn);
          await conn.request("login", { name, password: ACCOUNTS[name]! });
          // Everything confirmed stored by now is waiting when the device becomes active.
          due = new Set(box.due);
          await conn.request("udp_port", { port: 9 });
          // The stored messages are pushed before this answer.
          await conn.request("devices", {});
        } catch (error) {
          if (error instanceof RequestError || !killed) fail(`login of ${name}: ${error}`);
          return false;
        }
        const texts = batch.map((m) => m.text);
        if (new Set(texts).size !== texts.length) fail(`${name} got a message twice: ${texts}`);
        for (const text of texts) {
          if (box.acked.has(text)) fail(`${name} got ${text} again after acking it`);
          if (!box.due.has(text) && !box.maybe.has(text)) fail(`${name} got unknown ${text}`);
          summary.messages.delivered++;
          if (box.seen.has(text)) summary.messages.redelivered++;
          box.seen.add(text);
        }
        for (const text of due) {
          if (!texts.includes(text)) fail(`${name} did not get ${text}, which was stored`);
        }
        // Delivered means stored: each must come again until its ack is answered.
        for (const text of texts) {
          box.maybe.delete(text);
          box.due.add(text);
        }
        for (const m of batch) {
          if (random() < 0.3) continue; // left unacked: it must come again
          box.due.delete(m.text);
          box.maybe.add(m.text);
          try {
            await conn.request("ack", { message: m.id });
          } catch (error) {
            if (error instanceof RequestError || !killed) fail(`ack of ${m.text}: ${error}`);
            return false;
          }
          box.maybe.delete(m.text);
          box.acked.add(m.text);
          summary.messages.acked++;
        }
        try {
          await conn.request("logout", {});
        } catch (error) {
          if (error instanceof RequestError || !killed) fail(`logout of ${name}: ${error}`);
          return false;
        }
        await conn.closed;
        return true;
      };

      const receiverFlow = async (name: string) => {
        while (!killed) {
          await new Promise((r) => setTimeout(r, random() * maxKillDelayMs / 2));
          if (killed || !await receive(name)) return;
        }
      };

      const flows = [
        ...UPLOADERS.flatMap((d, i) =>
          FLOW_FILE_IDS.map((ids) => uploadFlow(d, uploaders[i]!, ids))
        ),
        senderFlow(),
        ...RECIPIENTS.map(receiverFlow),
      ];
      try {
        await kill;
        await server.stop("SIGKILL");
        for (const result of await Promise.allSettled(flows)) {
          if (result.status === "rejected") throw result.reason;
        }
      } finally {
        for (const c of connections) c.close();
        await Promise.all(connections.map((c) => c.closed));
      }

      server = await ServerProcess.start({ dataDir });
      await verify();
      summary.iterations = iteration;
      log(
        `iteration ${iteration}: killed after ${killDelay} ms; ` +
          `${summary.uploads.acked} uploads, ${summary.deletes.acked} deletes acknowledged so far`,
      );
    }
    // A last round of logins checks the messages left after the final kill.
    for (const name of RECIPIENTS) await verifyMailbox(name);
  } finally {
    await server.stop("SIGKILL");
    await Deno.remove(work, { recursive: true });
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
  summary.ms = Date.now() - started;
  return summary;

  /** A recipient logs in once more and its mailbox is checked (used after the last kill). */
  async function verifyMailbox(name: string): Promise<void> {
    const box = mail.get(name)!;
    const batch: string[] = [];
    const conn = await EdgeConnection.connect({
      hostname: "127.0.0.1",
      port: server.port,
      onPush: (push) => {
        if (push.event === "message" && push.kind === "offline") batch.push(push.text);
      },
    });
    try {
      await conn.request("login", { name, password: ACCOUNTS[name]! });
      await conn.request("udp_port", { port: 9 });
      await conn.request("devices", {});
      for (const text of batch) {
        if (box.acked.has(text)) fail(`${name} got ${text} again after acking it`);
        if (!box.due.has(text) && !box.maybe.has(text)) fail(`${name} got unknown ${text}`);
      }
      for (const text of box.due) {
        if (!batch.includes(text)) fail(`${name} did not get ${text}, which was stored`);
      }
      await conn.request("logout", {});
    } finally {
      conn.close();
      await conn.closed;
    }
  }

  /** Checks the restarted server's data directory against the model. */
  async function verify(): Promise<void> {
    // Start-up repairs follow the `listening on` line (SPEC §1 wants that line first), in
    // their own write. Stdout keeps order, so once a line logged after start-up is in, so
    // is every repair line: make one (a connection that never logs in) and wait for it.
    const from = server.stdout.lines.length;
    (await Deno.connect({ hostname: "127.0.0.1", port: server.port })).close();
    await server.waitForLog(/ended before login/, 10_000, from);
    const startup = server.log.filter((l) =>
      l.startsWith("recovery: ") || l.startsWith("removed unfinished file ")
    );
    for (const line of startup) {
      const kind = repairKind(line);
      if (!kind) fail(`recovery found something the journal does not explain: ${line}`);
      summary.repairs[kind] = (summary.repairs[kind] ?? 0) + 1;
    }
    // Start-up sums its repairs up in one line.
    const said = server.log.find((l) => l.startsWith("start-up check: "));
    const expected = startup.length === 0
      ? "nothing to repair"
      : `made ${startup.length} repair${startup.length === 1 ? "" : "s"} `;
    if (!said?.includes(expected)) fail(`start-up summary ${said} does not say ${expected}`);

    const names = new Set<string>();
    for await (const entry of Deno.readDir(join(dataDir, "uploads"))) names.add(entry.name);
    for (const name of names) {
      if (name.endsWith(".part")) fail(`temporary file uploads/${name} is left`);
      if (!files.has(name.replace(/\.txt$/, ""))) fail(`unexpected uploads/${name}`);
    }
    for (const [key, file] of files) {
      const name = `${key}.txt`;
      const text = names.has(name) ? await Deno.readTextFile(join(dataDir, "uploads", name)) : null;
      const inflight = file.inflight;
      file.inflight = undefined;
      if (text === (file.state?.text ?? null)) {
        if (inflight?.kind === "upload") summary.uploads.rolledBack++;
        if (inflight?.kind === "delete") summary.deletes.rolledBack++;
        continue;
      }
      if (inflight?.kind === "upload" && text === inflight.content.text) {
        file.uploadLines.push(inflight.content.count);
        file.state = inflight.content;
        summary.uploads.committedUnacked++;
      } else if (inflight?.kind === "delete" && text === null && file.state) {
        file.deleteLines.push(file.state.count);
        file.state = null;
        summary.deletes.committedUnacked++;
      } else {
        fail(
          `uploads/${name} is ${text === null ? "missing" : `${text.length} chars`}; expected ` +
            `${file.state ? `${file.state.text.length} chars` : "none"}` +
            (inflight ? ` or the result of the ${inflight.kind} in flight` : ""),
        );
      }
    }

    const since = started - 2_000;
    for (
      const [log, expected] of [
        ["upload-log.txt", (f: FileModel) => f.uploadLines],
        ["deletion-log.txt", (f: FileModel) => f.deleteLines],
      ] as const
    ) {
      let body = "";
      try {
        body = await Deno.readTextFile(join(dataDir, log));
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      if (body !== "" && !body.endsWith("\n")) fail(`${log} ends in a torn line`);
      const seen = new Map<string, number[]>();
      for (const line of body.split("\n").slice(0, -1)) {
        const m = LOG_LINE.exec(line);
        if (!m) fail(`${log} has a line not in the SPEC format: ${JSON.stringify(line)}`);
        const [, device, d, month, y, hh, mm, ss, id, amount] = m!;
        const at = new Date(+y!, MONTHS.indexOf(month!), +d!, +hh!, +mm!, +ss!).getTime();
        if (at < since - 1000 || at > Date.now() + 1000) fail(`${log}: odd timestamp: ${line}`);
        const key = `${device}-${id}`;
        seen.set(key, [...seen.get(key) ?? [], Number(amount)]);
      }
      for (const [key, file] of files) {
        const want = expected(file);
        const got = seen.get(key) ?? [];
        if (got.join() !== want.join()) {
          fail(`${log} lines of ${key} have dataAmounts [${got}], expected [${want}]`);
        }
        seen.delete(key);
      }
      if (seen.size > 0) fail(`${log} has lines of unknown files: ${[...seen.keys()]}`);
    }

    const db = new DatabaseSync(join(dataDir, "iotnet.db"), { readOnly: true });
    try {
      for (const table of ["pending_uploads", "pending_deletes"]) {
        const { n } = db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number };
        if (n !== 0) fail(`${table} still holds ${n} rows after recovery`);
      }
      const rows = db.prepare("SELECT * FROM files").all() as unknown as {
        device: string;
        file_id: number;
        samples: number;
        sum: string;
        min: number;
        max: number;
        bytes: number;
      }[];
      const present = [...files].filter(([, f]) => f.state).map(([k]) => k).sort();
      const recorded = rows.map((r) => `${r.device}-${r.file_id}`).sort();
      if (present.join() !== recorded.join()) {
        fail(`records [${recorded}] do not match files [${present}]`);
      }
      for (const r of rows) {
        const s = files.get(`${r.device}-${r.file_id}`)!.state!;
        const got = [r.samples, r.sum, r.min, r.max, r.bytes].join();
        const want = [s.count, s.sum, s.min, s.max, s.bytes].join();
        if (got !== want) fail(`record of ${r.device}-${r.file_id} is ${got}, file is ${want}`);
      }
    } finally {
      db.close();
    }

    // The server answers from those records.
    for (const device of UPLOADERS) {
      const conn = await EdgeConnection.connect({ hostname: "127.0.0.1", port: server.port });
      try {
        await conn.request("login", { name: device, password: ACCOUNTS[device]! });
        await conn.request("udp_port", { port: 9 });
        for (const fileID of FLOW_FILE_IDS.flat()) {
          const state = files.get(`${device}-${fileID}`)!.state;
          const checks = [["SUM", state?.sum], ["MIN", state?.min], ["MAX", state?.max]] as const;
          for (const [operation, want] of checks) {
            try {
              const r = await conn.request("compute", { fileID, operation });
              if (!state || r.result !== String(want)) {
                fail(`SCS ${device} ${fileID} ${operation} is ${r.result}, expected ${want}`);
              }
            } catch (error) {
              if (!(error instanceof NotFoundError) || state) {
                throw error;
              }
            }
          }
        }
        await conn.request("logout", {});
      } finally {
        conn.close();
        await conn.closed;
      }
    }
  }
}

/** The kind of a server start-up line about repairs, or `undefined` for any other. */
function repairKind(line: string): string | undefined {
  if (line.startsWith("removed unfinished file ")) return "temp file removed";
  if (line.startsWith("recovery: rolled back the unfinished upload")) return "upload rolled back";
  if (line.startsWith("recovery: finished the upload")) return "upload finished";
  if (line.startsWith("recovery: finished the delete")) return "delete finished";
  return undefined;
}

/** The one-line summary of a loop: `scripts/crash_loop.ts` prints it, the suite logs it. */
export function formatSummary(s: CrashSummary): string {
  const repairs = Object.entries(s.repairs).map(([k, n]) => `${n} ${k}`).join(", ") || "none";
  return `crash test: ${s.iterations} kills (seed ${s.seed}) in ${(s.ms / 1000).toFixed(1)} s, ` +
    `0 failures; uploads ${s.uploads.acked} acknowledged, ${s.uploads.committedUnacked} ` +
    `committed unacknowledged, ${s.uploads.rolledBack} rolled back; deletes ${s.deletes.acked} ` +
    `acknowledged, ${s.deletes.committedUnacked} committed unacknowledged, ` +
    `${s.deletes.rolledBack} rolled back; messages ${s.messages.stored} stored, ` +
    `${s.messages.delivered} delivered (${s.messages.redelivered} again: shown but not acked), ` +
    `${s.messages.acked} acked; recovery: ${repairs}`;
}
