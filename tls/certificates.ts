/**
 * A deployment's certificates (SPEC §7): a CA, and server certificates it signs for the
 * names and addresses devices dial. Keys are ECDSA P-256 in PKCS#8 PEM, certificates
 * PEM, both what `Deno.listenTls` and `openssl` read. This is the only file that
 * imports `@peculiar/x509` (which needs `reflect-metadata` loaded first).
 *
 * @module
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";

/** How long a CA is valid: ten years. */
export const CA_VALID_DAYS = 3650;
/** How long a server certificate is valid: one year (rotate with `iotnet cert` again). */
export const SERVER_CERT_VALID_DAYS = 365;

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;

x509.cryptoProvider.set(crypto);

/** A certificate and its private key, both PEM. */
export interface PemPair {
  cert: string;
  key: string;
}

/** Options of {@linkcode issueServerCert}. */
export interface ServerCertOptions {
  /** DNS names and IP addresses the certificate names. */
  hosts: readonly string[];
  /** Start of validity. Default: now. */
  notBefore?: Date;
  /** Days of validity. Default {@linkcode SERVER_CERT_VALID_DAYS}. */
  validDays?: number;
}

/**
 * Makes a self-signed CA.
 *
 * @example
 * ```ts
 * import { createCa } from "./certificates.ts";
 * const ca = await createCa("iotnet test CA");
 * if (!ca.cert.startsWith("-----BEGIN CERTIFICATE-----")) throw new Error("not PEM");
 * ```
 *
 * @param name the CA's common name.
 * @param now start of validity. Default: now.
 * @returns the CA certificate and key.
 */
export async function createCa(name: string, now = new Date()): Promise<PemPair> {
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${escapeDn(name)}`,
    notBefore: now,
    notAfter: new Date(now.getTime() + CA_VALID_DAYS * DAY_MS),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString("pem"), key: await keyPem(keys.privateKey) };
}

/**
 * Issues a server certificate signed by `ca`, naming every host (a leaf: `CA:FALSE`, as
 * rustls refuses a CA certificate used as an end entity).
 *
 * @param ca the CA certificate and key, PEM.
 * @param options the hosts and validity.
 * @returns the server certificate and its new key.
 * @throws {RangeError} when no host is given or a host is not a DNS name or IP address.
 */
export async function issueServerCert(ca: PemPair, options: ServerCertOptions): Promise<PemPair> {
  if (options.hosts.length === 0) throw new RangeError("a server certificate needs a host");
  const names = options.hosts.map(subjectAltName);
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await importKey(ca.key);
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const notBefore = options.notBefore ?? new Date();
  const days = options.validDays ?? SERVER_CERT_VALID_DAYS;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${escapeDn(options.hosts[0]!)}`,
    issuer: caCert.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + days * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(names, false),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
    ],
  });
  return { cert: cert.toString("pem"), key: await keyPem(keys.privateKey) };
}

/**
 * Whether `host` is an IP address (v4 or v6) rather than a DNS name.
 *
 * @param host a host as given on the command line.
 * @returns true for `127.0.0.1`, `::1`; false for `localhost`.
 */
export function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}

function subjectAltName(host: string): x509.JsonGeneralName {
  if (isIpAddress(host)) return { type: "ip", value: host };
  if (!/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(host)) {
    throw new RangeError(`--host ${JSON.stringify(host)} is neither a DNS name nor an IP address`);
  }
  return { type: "dns", value: host };
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", key));
  return x509.PemConverter.encode(der.buffer, "PRIVATE KEY");
}

async function importKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return await crypto.subtle.importKey("pkcs8", der, ALGORITHM, false, ["sign"]);
}

function serialNumber(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0]! &= 0x7f; // positive
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function escapeDn(value: string): string {
  return value.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`);
}
