/**
 * Per-address TLS inspection, the part of the tester that has no counterpart
 * in the server: the server only needs "does this certificate verify for this
 * name"; an operator needs to know why not. Given the certificates a peer
 * served on one connection, this reports the TLS version and cipher, the
 * chain (self-signed, unknown issuer, missing intermediate), whether the
 * certificate is valid for the expected name (subjectAltName DNS/IP, with a
 * note when the name is only in the Common Name or matched by a wildcard) and
 * the days to expiry (a warning under 14).
 *
 * Certificate requirements: https://spec.matrix.org/v1.16/server-server-api/#tls
 */
import { X509Certificate, createHash } from "node:crypto";
import { isIP } from "node:net";
import { rootCertificates, type TLSSocket } from "node:tls";
import { checkCertificateName, parseSubjectAltName } from "../federation/tls/name-check.js";
import { makeCheck, plural, type CertificateDetail, type Check, type MftCertSummary } from "./report.js";

export const EXPIRY_WARNING_DAYS = 14;
const DAY_MS = 86_400_000;

/** What one TLS connection showed: protocol, cipher and the certificates in the order served (leaf first). */
export interface TlsPeerInfo {
  readonly protocol: string | null;
  readonly cipher: string | null;
  readonly chain: readonly X509Certificate[];
}

/** Reads the served chain from a connected socket (leaf first, following issuer links, without repeats). */
export function peerInfoFromSocket(socket: TLSSocket): TlsPeerInfo {
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  let cert = socket.getPeerCertificate(true) as (ReturnType<TLSSocket["getPeerCertificate"]> & { issuerCertificate?: unknown; raw?: Buffer }) | undefined;
  while (cert && cert.raw && chain.length < 16) {
    const x = new X509Certificate(cert.raw);
    if (seen.has(x.fingerprint256)) break;
    seen.add(x.fingerprint256);
    chain.push(x);
    cert = cert.issuerCertificate as typeof cert;
  }
  const cipher = socket.getCipher();
  return { protocol: socket.getProtocol(), cipher: cipher ? (cipher.standardName ?? cipher.name) : null, chain };
}

let systemRoots: X509Certificate[] | undefined;

/** The trust anchors: the given PEM list (federation_custom_ca_list) added to Node's bundled roots. */
export function trustAnchors(extraPem: readonly string[] = [], includeSystem = true): X509Certificate[] {
  if (includeSystem && !systemRoots) systemRoots = rootCertificates.map((p) => new X509Certificate(p));
  const extra = extraPem.flatMap(splitPem).map((p) => new X509Certificate(p));
  return [...extra, ...(includeSystem ? systemRoots! : [])];
}

export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** "DNS:a.test, IP Address:127.0.0.1" -> { dns: ["a.test"], ip: ["127.0.0.1"] } */
export function subjectAltNames(cert: X509Certificate): { dns: string[]; ip: string[] } {
  const dns: string[] = [];
  const ip: string[] = [];
  for (const part of (cert.subjectAltName ?? "").split(/,\s*/)) {
    if (part.startsWith("DNS:")) dns.push(part.slice(4));
    else if (part.startsWith("IP Address:")) ip.push(part.slice(11));
  }
  return { dns, ip };
}

export function commonName(dn: string): string {
  for (const line of dn.split("\n")) if (line.startsWith("CN=")) return line.slice(3);
  return "";
}

/** The certificate summary matrix-federation-tester reports per certificate. */
export function certSummary(cert: X509Certificate): MftCertSummary {
  const dns = subjectAltNames(cert).dns;
  return {
    SubjectCommonName: commonName(cert.subject),
    IssuerCommonName: commonName(cert.issuer),
    SHA256Fingerprint: createHash("sha256").update(cert.raw).digest("base64").replace(/=+$/, ""),
    DNSNames: dns.length ? dns : null,
  };
}

/** What the page shows per certificate: subject, issuer, subjectAltName, SHA-256 and the validity period. */
export function certDetail(cert: X509Certificate): CertificateDetail {
  return {
    Subject: cert.subject.split("\n").join(", "),
    Issuer: cert.issuer.split("\n").join(", "),
    SubjectAltNames: cert.subjectAltName ? cert.subjectAltName.split(/,\s*/) : [],
    SHA256: cert.fingerprint256,
    NotBefore: new Date(Date.parse(cert.validFrom)).toISOString(),
    NotAfter: new Date(Date.parse(cert.validTo)).toISOString(),
  };
}

/** "TLSv1.3" -> "TLS 1.3", as matrix-federation-tester names versions. */
export function mftTlsVersion(protocol: string | null): string {
  if (!protocol) return "";
  const m = /^TLSv(\d)(?:\.(\d))?$/.exec(protocol);
  if (m) return `TLS ${m[1]}.${m[2] ?? "0"}`;
  if (protocol === "SSLv3") return "SSL 3.0";
  return protocol;
}

export type ChainVerdict =
  | { kind: "trusted"; path: X509Certificate[] }
  | { kind: "self-signed" }
  | { kind: "missing-intermediate"; issuer: string }
  | { kind: "unknown-issuer"; issuer: string }
  | { kind: "empty" };

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/** Builds a path from the leaf to a trust anchor using the served certificates (time is not considered here). */
export function verifyChain(chain: readonly X509Certificate[], anchors: readonly X509Certificate[]): ChainVerdict {
  const leaf = chain[0];
  if (!leaf) return { kind: "empty" };
  const anchorPrints = new Set(anchors.map((a) => a.fingerprint256));
  const path = [leaf];
  let cur = leaf;
  for (let depth = 0; depth < 10; depth++) {
    if (anchorPrints.has(cur.fingerprint256)) return { kind: "trusted", path };
    const anchor = anchors.find((a) => issuedBy(cur, a));
    if (anchor) return { kind: "trusted", path: [...path, anchor] };
    const next = chain.find((c) => c !== cur && c.fingerprint256 !== cur.fingerprint256 && issuedBy(cur, c));
    if (!next) {
      if (cur === leaf && issuedBy(leaf, leaf)) return { kind: "self-signed" };
      const issuer = commonName(cur.issuer) || cur.issuer.replace(/\n/g, ", ");
      if (cur === leaf && chain.length === 1) return { kind: "missing-intermediate", issuer };
      return { kind: "unknown-issuer", issuer };
    }
    path.push(next);
    cur = next;
  }
  return { kind: "unknown-issuer", issuer: commonName(cur.issuer) };
}

/** Whether `host` (DNS name or IP literal) is covered by a subjectAltName, and how. */
export type NameMatch =
  | { ok: true; by: "dns" | "ip"; name: string; wildcard: boolean }
  | { ok: false; cnOnly: boolean; wildcardMiss: string | undefined; sans: string[] };

/** The server's own name check (federation/tls) decides; the tester adds why a miss happened. */
export function matchName(cert: X509Certificate, host: string): NameMatch {
  const { dns, ip } = subjectAltNames(cert);
  const sans = [...dns.map((d) => `DNS:${d}`), ...ip.map((i) => `IP:${i}`)];
  const v = checkCertificateName(parseSubjectAltName(cert.subjectAltName, commonName(cert.subject)), host);
  if (v.ok) return { ok: true, by: isIP(host) ? "ip" : "dns", name: v.matched, wildcard: v.wildcard };
  const h = host.toLowerCase().replace(/\.$/, "");
  const miss = isIP(host) ? undefined : dns.find((d) => d.startsWith("*.") && (h === d.slice(2).toLowerCase() || h.endsWith(`.${d.slice(2).toLowerCase()}`)));
  return { ok: false, cnOnly: commonName(cert.subject).toLowerCase() === h, wildcardMiss: miss, sans };
}

export interface TlsInspectOptions {
  /** The name the certificate must be valid for: the delegated host, or the server name's host. */
  readonly expectedHost: string;
  readonly address: string;
  readonly now: number;
  readonly anchors: readonly X509Certificate[];
  /** federation_verify_certificates: false turns certificate failures into warnings. */
  readonly verifyCertificates?: boolean;
}

export interface TlsInspection {
  readonly checks: Check[];
  readonly certificates: MftCertSummary[];
  readonly details: CertificateDetail[];
  readonly cipher: { Version: string; CipherSuite: string };
  /** Chain trusted, name matches, and within validity: matrix-federation-tester's ValidCertificates. */
  readonly validCertificates: boolean;
}

/** Turns one connection's TLS facts into checks. */
export function inspectTls(info: TlsPeerInfo, opts: TlsInspectOptions): TlsInspection {
  const address = opts.address;
  const checks: Check[] = [];
  const strict = opts.verifyCertificates !== false;
  const bad = strict ? "fail" : "warn";
  const relaxed = strict ? "" : " (certificate verification is off in this configuration, so this is only a warning)";
  const version = mftTlsVersion(info.protocol);
  const cipher = { Version: version, CipherSuite: info.cipher ?? "" };

  // TLS version and cipher.
  if (info.protocol === "TLSv1.2" || info.protocol === "TLSv1.3") {
    checks.push(makeCheck("tls.handshake", "ok", `${version}, ${cipher.CipherSuite}`, { address }));
  } else {
    checks.push(makeCheck("tls.handshake", "warn", `${version || "unknown protocol"}, ${cipher.CipherSuite}: older than TLS 1.2`, {
      address, fix: "Enable TLS 1.2 and 1.3 on the federation port and disable older versions.",
    }));
  }

  const leaf = info.chain[0];
  if (!leaf) {
    checks.push(makeCheck("tls.chain", "fail", "the server sent no certificate", { address }));
    return { checks, certificates: [], details: [], cipher, validCertificates: false };
  }
  const certificates = info.chain.map(certSummary);

  // Chain.
  const verdict = verifyChain(info.chain, opts.anchors);
  let chainOk = false;
  const subjects = info.chain.map((c) => commonName(c.subject) || "(no CN)").join(" <- ");
  switch (verdict.kind) {
    case "trusted":
      chainOk = true;
      checks.push(makeCheck("tls.chain", "ok", `${subjects}, trusted via ${commonName(verdict.path[verdict.path.length - 1]!.subject)}`, { address }));
      break;
    case "self-signed":
      checks.push(makeCheck("tls.chain", bad, `the certificate for ${commonName(leaf.subject) || "this server"} is self-signed${relaxed}`, {
        address,
        fix: "Use a certificate from a CA that other servers trust (e.g. Let's Encrypt); on a private federation, list your CA in every peer's federation_custom_ca_list.",
      }));
      break;
    case "missing-intermediate":
      checks.push(makeCheck("tls.chain", bad, `the server sent only its own certificate, issued by "${verdict.issuer}", which is not a trusted root: the intermediate certificate is missing${relaxed}`, {
        address,
        fix: `Serve the full chain: the certificate followed by the intermediate "${verdict.issuer}" (fullchain.pem rather than cert.pem); if "${verdict.issuer}" is a private CA, peers must list it in federation_custom_ca_list.`,
      }));
      break;
    case "unknown-issuer":
      checks.push(makeCheck("tls.chain", bad, `the chain ${subjects} ends at "${verdict.issuer}", which is not a trusted CA${relaxed}`, {
        address,
        fix: `Use a certificate from a public CA; if "${verdict.issuer}" is your private CA, every peer must list it in federation_custom_ca_list.`,
      }));
      break;
    case "empty":
      break;
  }

  // Name.
  const m = matchName(leaf, opts.expectedHost);
  let nameOk = false;
  if (m.ok) {
    nameOk = true;
    checks.push(makeCheck("tls.name", "ok", `${opts.expectedHost} matches subjectAltName ${m.by === "ip" ? "IP" : "DNS"}:${m.name}`, { address }));
    if (m.wildcard) {
      checks.push(makeCheck("tls.wildcard", "ok", `${opts.expectedHost} is covered by the wildcard ${m.name}, which covers one label only`, { address }));
    }
  } else {
    const listed = m.sans.length ? m.sans.join(", ") : "no subjectAltName at all";
    if (m.wildcardMiss !== undefined) {
      checks.push(makeCheck("tls.name", bad, `${opts.expectedHost} is not covered: the certificate lists ${listed}${relaxed}`, {
        address,
        fix: `The wildcard ${m.wildcardMiss} covers exactly one label to the left of ${m.wildcardMiss.slice(2)}, so not ${opts.expectedHost}: add ${opts.expectedHost} itself to the certificate's subjectAltName.`,
      }));
      checks.push(makeCheck("tls.wildcard", "warn", `the wildcard ${m.wildcardMiss} does not cover ${opts.expectedHost}`, { address }));
    } else if (m.cnOnly) {
      checks.push(makeCheck("tls.name", bad, `${opts.expectedHost} appears only in the Common Name; the certificate lists ${listed}${relaxed}`, {
        address, fix: `Re-issue the certificate with ${opts.expectedHost} in subjectAltName: TLS clients ignore the Common Name.`,
      }));
      checks.push(makeCheck("tls.cn-san", "warn", `the Common Name is ${opts.expectedHost} but subjectAltName lists ${listed}`, { address }));
    } else {
      checks.push(makeCheck("tls.name", bad, `the certificate is for ${listed}, not ${opts.expectedHost}${relaxed}`, {
        address,
        fix: `Get a certificate whose subjectAltName includes ${opts.expectedHost}, or, if this host serves another name, point the delegation (.well-known or SRV) at a host the certificate covers.`,
      }));
    }
  }
  const cn = commonName(leaf.subject);
  if (m.ok && cn && !subjectAltNames(leaf).dns.some((d) => d.toLowerCase() === cn.toLowerCase()) && !subjectAltNames(leaf).ip.includes(cn)) {
    checks.push(makeCheck("tls.cn-san", "ok", `the Common Name "${cn}" is not in subjectAltName; that is harmless because clients use subjectAltName only`, { address }));
  }

  // Validity period.
  const notAfter = Date.parse(leaf.validTo);
  const notBefore = Date.parse(leaf.validFrom);
  const days = Math.floor((notAfter - opts.now) / DAY_MS);
  let timeOk = true;
  if (opts.now < notBefore) {
    timeOk = false;
    checks.push(makeCheck("tls.expiry", bad, `the certificate is not valid until ${new Date(notBefore).toISOString()}${relaxed}`, {
      address, fix: "Check the clock of the machine that issued the certificate and of this one (NTP), or wait until it becomes valid.",
    }));
  } else if (notAfter < opts.now) {
    timeOk = false;
    checks.push(makeCheck("tls.expiry", bad, `the certificate expired on ${new Date(notAfter).toISOString()} (${plural(-days, "day")} ago)${relaxed}`, {
      address, fix: "Renew the certificate now (e.g. `certbot renew`), make renewal automatic, and reload the server or proxy so it serves the new one.",
    }));
  } else if (days < EXPIRY_WARNING_DAYS) {
    checks.push(makeCheck("tls.expiry", "warn", `the certificate expires in ${plural(days, "day")} (${new Date(notAfter).toISOString()})`, {
      address, fix: "Renew the certificate now and check that automatic renewal runs (certbot's timer or your ACME client), then reload the server.",
    }));
  } else {
    checks.push(makeCheck("tls.expiry", "ok", `valid for ${days} more days (until ${new Date(notAfter).toISOString().slice(0, 10)})`, { address }));
  }

  return { checks, certificates, details: info.chain.map(certDetail), cipher, validCertificates: chainOk && nameOk && timeOk };
}
