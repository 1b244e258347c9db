/**
 * Certificates for a deployment (SPEC §7): a CA, and server certificates it signs for the
 * host names and IP addresses devices dial. ECDSA P-256 keys, made on WebCrypto through
 * `@peculiar/x509`; PEM in and out. Leaves carry `basicConstraints CA:FALSE`: rustls
 * refuses a CA certificate used as an end entity.
 *
 * @module
 */

import "reflect-metadata"; // @peculiar/x509 needs it loaded first
import * as x509 from "@peculiar/x509";

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 24 * 3600 * 1000;

/** Lifetime of a CA made by {@linkcode createCa}, in days. */
export const CA_DAYS = 3650;
/** Lifetime of a server certificate made by {@linkcode issueServerCertificate}, in days. */
export const SERVER_CERT_DAYS = 397;

/** A certificate and its private key, both PEM. */
export interface PemPair {
  cert: string;
  key: string;
}

/** Validity of a certificate; default from now for the type's lifetime. */
export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
}

/** Makes a self-signed CA that can sign server certificates and nothing below them. */
export async function createCa(name = "iotnet CA", validity: Validity = {}): Promise<PemPair> {
  const keys = await generateKeys();
  const { notBefore, notAfter } = span(validity, CA_DAYS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    notBefore,
    notAfter,
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
  return { cert: cert.toString("pem"), key: await privateKeyPem(keys.privateKey) };
}

/**
 * Issues a server certificate for `hosts` (IP addresses and DNS names), signed by `ca`.
 *
 * @throws {RangeError} when `hosts` is empty or a name is not a host name or IP address.
 */
export async function issueServerCertificate(
  ca: PemPair,
  hosts: readonly string[],
  validity: Validity = {},
): Promise<PemPair> {
  if (hosts.length === 0) throw new RangeError("a server certificate needs at least one host");
  for (const host of hosts) {
    if (!isIpAddress(host) && !HOST_NAME.test(host)) {
      throw new RangeError(`${JSON.stringify(host)} is neither an IP address nor a host name`);
    }
  }
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await importPrivateKey(ca.key);
  const keys = await generateKeys();
  const { notBefore, notAfter } = span(validity, SERVER_CERT_DAYS);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${hosts[0]}`,
    issuer: caCert.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        hosts.map((host) => ({
          type: isIpAddress(host) ? "ip" as const : "dns" as const,
          value: host,
        })),
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { cert: cert.toString("pem"), key: await privateKeyPem(keys.privateKey) };
}

/** A DNS name: labels of letters, digits and hyphens, or a leading `*.`. */
const HOST_NAME =
  /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Whether `host` is an IPv4 or IPv6 address literal. */
export function isIpAddress(host: string): boolean {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return host.split(".").every((p) => Number(p) < 256);
  if (!host.includes(":")) return false;
  try {
    return new URL(`http://[${host}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

function span(validity: Validity, days: number): { notBefore: Date; notAfter: Date } {
  // A minute back, so a device whose clock is a little behind still accepts a fresh one.
  const notBefore = validity.notBefore ?? new Date(Date.now() - 60_000);
  return {
    notBefore,
    notAfter: validity.notAfter ?? new Date(notBefore.getTime() + days * DAY_MS),
  };
}

function serial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0]! &= 0x7f; // positive
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]) as CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return await crypto.subtle.importKey("pkcs8", der, ALGORITHM, false, ["sign"]);
}
