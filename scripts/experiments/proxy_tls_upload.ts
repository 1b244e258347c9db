/**
 * `deno run -A scripts/experiments/proxy_tls_upload.ts [--mib N] [--rounds R]`: what
 * `--proxy-protocol` with `--tls-cert` costs (docs/DECISIONS.md, "PROXY protocol"). There
 * the server cannot use `Deno.listenTls` (the header comes in clear before the
 * ClientHello) and runs TLS through `node:tls` instead (`server/proxied_tls.ts`). Three
 * server processes: TLS as usual, TLS after a PROXY header, plain after a PROXY header;
 * against each, in turn for R rounds, the median of 20 connect + TLS + hello + login and
 * one upload of N MiB (wall time to the server's answer).
 *
 * @module
 */

import { join } from "node:path";
import { EdgeConnection } from "../../client/connection.ts";
import { encodeProxyHeader } from "../../protocol/proxy_header.ts";
import { TLS_ALPN_PROTOCOL } from "../../protocol/limits.ts";
import { createCa, issueServerCert } from "../../tls/certificates.ts";
import { memorySource } from "../../tests/_helpers/files.ts";
import { numberOption, parseCli } from "../_cli.ts";

const USAGE = `usage: deno run -A scripts/experiments/proxy_tls_upload.ts [--mib N] [--rounds R]
  --mib     size of the upload, 1..1024 MiB (default 64)
  --rounds  rounds over the three servers, 1..20 (default 3)`;
const LOGINS = 20;

const { values } = parseCli(Deno.args, {
  usage: USAGE,
  options: { mib: { type: "string" }, rounds: { type: "string" } },
});
const mib = numberOption(values.mib, {
  whole: true,
  min: 1,
  max: 1024,
  fallback: 64,
  name: "--mib",
  usage: USAGE,
});
const rounds = numberOption(values.rounds, {
  whole: true,
  min: 1,
  max: 20,
  fallback: 3,
  name: "--rounds",
  usage: USAGE,
});

const dir = await Deno.makeTempDir({ prefix: "iotnet-proxy-tls-" });
const ca = await createCa("experiment CA");
const identity = await issueServerCert(ca, { hosts: ["127.0.0.1"] });
await Deno.writeTextFile(join(dir, "server.crt"), identity.cert);
await Deno.writeTextFile(join(dir, "server.key"), identity.key);
const tlsArgs = ["--tls-cert", join(dir, "server.crt"), "--tls-key", join(dir, "server.key")];

interface Mode {
  name: string;
  args: string[];
  proxy: boolean;
  tls: boolean;
}
const MODES: Mode[] = [
  { name: "TLS (Deno.listenTls)", args: tlsArgs, proxy: false, tls: true },
  {
    name: "PROXY + TLS (node:tls)",
    args: [...tlsArgs, "--proxy-protocol"],
    proxy: true,
    tls: true,
  },
  { name: "PROXY, plain", args: ["--proxy-protocol", "--insecure"], proxy: true, tls: false },
];

const samples = new TextEncoder().encode("1234567\n".repeat(mib * 131_072));
const servers = await Promise.all(MODES.map((mode, i) => startServer(mode, i)));
const results = MODES.map(() => ({ login: [] as number[], upload: [] as number[] }));
try {
  for (let round = 0; round < rounds; round++) {
    for (const [i, mode] of MODES.entries()) {
      const port = servers[i]!.port;
      for (let n = 0; n < LOGINS; n++) {
        const started = performance.now();
        const edge = await connect(mode, port);
        await edge.request("login", { name: "dev", password: "pw" });
        results[i]!.login.push(performance.now() - started);
        edge.close();
      }
      const edge = await connect(mode, port);
      await edge.request("login", { name: "dev", password: "pw" });
      await edge.request("udp_port", { port: 9 });
      const started = performance.now();
      await edge.upload(round, memorySource(samples), samples.length);
      results[i]!.upload.push(performance.now() - started);
      edge.close();
    }
  }
  console.log(`${mib} MiB upload and ${LOGINS} logins per round, ${rounds} rounds, medians:`);
  for (const [i, mode] of MODES.entries()) {
    const upload = median(results[i]!.upload);
    console.log(
      `${mode.name.padEnd(24)} connect+login ${median(results[i]!.login).toFixed(1)} ms, ` +
        `upload ${upload.toFixed(0)} ms (${(mib / (upload / 1000)).toFixed(0)} MiB/s)`,
    );
  }
} finally {
  for (const server of servers) {
    server.child.kill("SIGTERM");
    await server.child.status;
  }
  await Deno.remove(dir, { recursive: true });
}

async function startServer(mode: Mode, i: number) {
  const dataDir = join(dir, `server${i}`);
  await Deno.mkdir(dataDir);
  await Deno.writeTextFile(join(dataDir, "credentials.txt"), "dev pw\n");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../mod.ts", import.meta.url).pathname, "server", "0", "3"]
      .concat(["--data-dir", dataDir, ...mode.args]),
    env: { IOTNET_HASH_PROFILE: "fast" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${mode.name}: the server did not start`);
    text += value;
  }
  void (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  void child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (text) => console.error(`${mode.name}: ${text.trim()}`) }),
  );
  return { child, port: Number(/listening on [^:]+:(\d+)/.exec(text)![1]) };
}

async function connect(mode: Mode, port: number): Promise<EdgeConnection> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  if (mode.proxy) {
    await conn.write(encodeProxyHeader({
      kind: "tcp4",
      source: { address: "203.0.113.1", port: conn.localAddr.port },
      destination: { address: "127.0.0.1", port },
    }));
  }
  const stream = mode.tls
    ? await Deno.startTls(conn, {
      hostname: "127.0.0.1",
      caCerts: [ca.cert],
      alpnProtocols: [TLS_ALPN_PROTOCOL],
    })
    : conn;
  return await EdgeConnection.open(stream, { localHostname: "127.0.0.1", server: mode.name });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}
