/**
 * Certificate/key pair checks shared by ACME and the live-reload manager: a pair is installed on a listener only
 * if every certificate parses, the key parses, and the key is the leaf's key.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";

export interface CertificateInfo {
  readonly notBefore: number;
  readonly notAfter: number;
  /** Upper-case hex, as openssl prints it. */
  readonly serial: string;
  /** DNS subjectAltNames, lower-cased. */
  readonly dnsNames: readonly string[];
  readonly subject: string;
  readonly issuer: string;
  readonly fingerprint256: string;
  /** Certificates in the chain, leaf included. */
  readonly chainLength: number;
}

export type PairVerdict = { ok: true; info: CertificateInfo } | { ok: false; reason: string };

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export function splitPemChain(pem: string): string[] {
  return pem.match(PEM_CERT) ?? [];
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** DNS names of a certificate's subjectAltName extension. */
export function dnsNamesOf(cert: X509Certificate): string[] {
  const san = cert.subjectAltName ?? "";
  return san
    .split(/,\s*/)
    .filter((s) => s.startsWith("DNS:"))
    .map((s) => s.slice(4).toLowerCase());
}

export function certificateInfo(leaf: X509Certificate, chainLength: number): CertificateInfo {
  return {
    notBefore: Date.parse(leaf.validFrom),
    notAfter: Date.parse(leaf.validTo),
    serial: leaf.serialNumber.toUpperCase(),
    dnsNames: dnsNamesOf(leaf),
    subject: leaf.subject,
    issuer: leaf.issuer,
    fingerprint256: leaf.fingerprint256,
    chainLength,
  };
}

/** Parses a chain (leaf first) and its key; refuses what does not parse or does not match, naming why. */
export function checkCertificatePair(certPem: string, keyPem: string): PairVerdict {
  const pems = splitPemChain(certPem);
  if (pems.length === 0) return { ok: false, reason: "no PEM certificate found in the certificate file" };
  const chain: X509Certificate[] = [];
  for (const [i, pem] of pems.entries()) {
    try {
      chain.push(new X509Certificate(pem));
    } catch (err) {
      return { ok: false, reason: `certificate ${i + 1} of the chain does not parse: ${message(err)}` };
    }
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    return { ok: false, reason: `the private key does not parse: ${message(err)}` };
  }
  const leaf = chain[0]!;
  if (!leaf.checkPrivateKey(key)) {
    return { ok: false, reason: `the private key does not match the certificate (subject ${leaf.subject.replace(/\n/g, ", ")}, serial ${leaf.serialNumber})` };
  }
  return { ok: true, info: certificateInfo(leaf, chain.length) };
}

/**
 * Whether a certificate name covers a host (RFC 6125 section 6.4: exact match, case-insensitive, or a wildcard
 * standing for exactly one whole left-most label).
 */
export function nameCovers(certName: string, host: string): boolean {
  const n = certName.toLowerCase();
  const h = host.toLowerCase().replace(/\.$/, "");
  if (n === h) return true;
  if (!n.startsWith("*.")) return false;
  const dot = h.indexOf(".");
  return dot > 0 && h.slice(dot + 1) === n.slice(2);
}

/** Whether every domain is covered by one of the DNS names. */
export function coversAll(dnsNames: readonly string[], domains: readonly string[]): boolean {
  return domains.every((d) => dnsNames.some((n) => nameCovers(n, d)));
}
