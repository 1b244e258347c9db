/**
 * The `tls` section of `deno task bench` (SPEC §7): connect-and-login over TLS beside the
 * same over plain TCP, and 1,000 key logins at once beside 1,000 password logins at once
 * (fast hash profile: the cheapest password check the server has).
 *
 * @module
 */

import { join } from "node:path";
import { EdgeConnection } from "../../client/connection.ts";
import { HASH_PROFILES, hashPassword } from "../../server/password_hash.ts";
import { startServer } from "../../server/mod.ts";
import { createCa, issueServerCert } from "../../tls/certificates.ts";
import {
  credentialsLine,
  generateDeviceKey,
  importDevicePrivateKey,
} from "../../tls/device_key.ts";
import { loginWithKey } from "../../client/key_login.ts";
import { formatMs, median, percentile, table } from "./helpers.ts";

/** Logins started at once in the concurrency comparison. */
const CONCURRENT_LOGINS = 1_000;
/** Sequential connect-and-login rounds per row. */
const ROUNDS = 60;

/** Runs the section and returns its Markdown. */
export async function runTlsBench(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "iotnet-bench-tls-" });
  try {
    const ca = await createCa("iotnet bench CA");
    const identity = await issueServerCert(ca, { hosts: ["127.0.0.1"] });
    const deviceKey = await generateDeviceKey();
    const signing = await importDevicePrivateKey(deviceKey.privatePem);
    const hash = await hashPassword("pw", HASH_PROFILES.fast);
    const lines: string[] = [];
    for (let i = 0; i < CONCURRENT_LOGINS; i++) {
      lines.push(`pw${i} ${hash}`, credentialsLine(`key${i}`, deviceKey.publicKey));
    }
    await Deno.writeTextFile(join(dir, "credentials.txt"), lines.join("\n") + "\n");
    const limits = {
      attempts: 3,
      dataDir: dir,
      log: () => {},
      maxConnections: 8 * CONCURRENT_LOGINS,
      maxPendingLogins: 4 * CONCURRENT_LOGINS,
      maxPendingLoginsPerAddress: 4 * CONCURRENT_LOGINS,
    };

    const keyLogin = (connection: EdgeConnection, name: string) =>
      loginWithKey(connection, { key: signing, name });
    const passwordLogin = (connection: EdgeConnection, name: string) =>
      connection.request("login", { name, password: "pw" });

    // Connect, hello, log in, one at a time: what a device waits for at start.
    const sequential = async (tls: boolean, key: boolean, offset: number) => {
      const server = await startServer({ ...limits, ...(tls && { tls: identity }) });
      const times: number[] = [];
      try {
        for (let i = 0; i < ROUNDS; i++) {
          const start = performance.now();
          const connection = await EdgeConnection.connect({
            hostname: "127.0.0.1",
            port: server.port,
            ...(tls && { tlsCa: ca.cert }),
          });
          if (key) await keyLogin(connection, `key${offset + i}`);
          else await passwordLogin(connection, `pw${offset + i}`);
          times.push(performance.now() - start);
          connection.close();
        }
      } finally {
        await server.close();
      }
      return times;
    };
    const rows: (string | number)[][] = [];
    const plain = await sequential(false, false, 0);
    const tlsPassword = await sequential(true, false, 100);
    const tlsKey = await sequential(true, true, 200);
    for (
      const [label, times] of [
        ["plain TCP, password (reference)", plain],
        ["TLS 1.3, password", tlsPassword],
        ["TLS 1.3, device key", tlsKey],
      ] as const
    ) {
      rows.push([label, formatMs(median(times)), formatMs(percentile(times, 99))]);
    }

    // Everyone at once, over plain TCP (the login check, not the handshake, is measured).
    const burst = async (key: boolean) => {
      const server = await startServer(limits);
      try {
        const connections = await Promise.all(
          Array.from(
            { length: CONCURRENT_LOGINS },
            () => EdgeConnection.connect({ hostname: "127.0.0.1", port: server.port }),
          ),
        );
        const start = performance.now();
        const times = await Promise.all(connections.map(async (connection, i) => {
          if (key) await keyLogin(connection, `key${i}`);
          else await passwordLogin(connection, `pw${i}`);
          return performance.now() - start;
        }));
        for (const c of connections) c.close();
        return times;
      } finally {
        await server.close();
      }
    };
    const passwords = await burst(false);
    const keys = await burst(true);
    const burstRows = [
      ["password, scrypt fast profile (reference)", passwords],
      ["device key, Ed25519", keys],
    ].map(([label, times]) => {
      const t = times as number[];
      return [
        label as string,
        formatMs(median(t)),
        formatMs(percentile(t, 99)),
        formatMs(Math.max(...t)),
      ];
    });
    const p99Keys = percentile(keys, 99);
    return [
      "## TLS and device keys",
      "",
      `Connect, TLS handshake, hello and login, ${ROUNDS} times one after another (in-process server, ` +
      "edge sets no-delay before startTls, server handshakes at once):",
      "",
      table(["connection", "median", "p99"], rows, ["left", "right", "right"]),
      "",
      "The handshake itself takes about 1 ms here; the ~40 ms more is the first reply after it: " +
      "the server's TLS 1.3 session tickets are still unacknowledged when the edge's hello " +
      "arrives, Nagle holds the reply and the edge's delayed ACK comes 40 ms later. A " +
      "connection from `Deno.listenTls` has no `setNoDelay` (and Deno has no server-side " +
      "`startTls` to set it on the TCP connection first), so the server cannot turn Nagle " +
      "off; this is paid once per connection, not per request.",
      "",
      `${
        CONCURRENT_LOGINS.toLocaleString("en")
      } logins started at once on open connections (plain TCP, so the ` +
      `login check is what is measured): target key logins p99 < 1 s — ${
        p99Keys < 1000 ? "met" : "NOT met"
      } (${formatMs(p99Keys)}).`,
      "",
      table(["login", "median", "p99", "last"], burstRows, ["left", "right", "right", "right"]),
    ].join("\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
