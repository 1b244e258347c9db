/**
 * Reads the PEM files the TLS options name (`--tls-cert`, `--tls-key`, `--tls-ca`).
 *
 * @module
 */

import { UsageError } from "./usage_error.ts";

/**
 * Reads `path`, given to `option`, and checks it holds a PEM block of the kind expected.
 *
 * @param what `certificate` or `private key`.
 * @param madeBy the command that makes such a file, named in the refusal.
 * @throws {UsageError} when it cannot be read or holds no such block.
 */
export async function readPemFile(
  option: string,
  path: string,
  what: "certificate" | "private key",
  madeBy = "iotnet cert",
): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new UsageError(`${option} ${path} cannot be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const pattern = what === "certificate"
    ? /-----BEGIN CERTIFICATE-----/
    : /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/;
  if (!pattern.test(text)) {
    throw new UsageError(
      `${option} ${path} holds no PEM ${what}; give the file \`${madeBy}\` wrote`,
    );
  }
  return text;
}

/**
 * Each certificate of a PEM file on its own: `Deno.startTls` reads only the first of a
 * string, and a `--tls-ca` file may hold the old and the new CA while the CA changes.
 */
export function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}
