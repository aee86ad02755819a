/**
 * The outbound TLS connector: one TCP+TLS connection to one resolved target, checked the way the specification's
 * TLS section asks (https://spec.matrix.org/v1.16/server-server-api/#tls):
 *
 * 1. Connect to the target's IP and port (never re-resolving the name: resolution already applied the IP policy).
 * 2. Send SNI with the expected certificate name, unless that name is an IP literal (SNI cannot carry an IP).
 * 3. Unless the policy exempts the name: the chain must lead to a trusted CA (custom list or the system's), the
 *    certificate must be within its validity period, and its subjectAltNames must cover the expected name
 *    (RFC 6125, see name-check.ts).
 * 4. The handshake must finish within the timeout.
 */
import * as tls from "node:tls";
import { isIP } from "node:net";
import type { Trace } from "../trace.js";
import { checkCertificateName, parseSubjectAltName } from "./name-check.js";
import type { TlsPolicy } from "./policy.js";

export interface TlsTarget {
  readonly ip: string;
  readonly port: number;
  /** The name the certificate must prove (a DNS name or an IP address without brackets). */
  readonly tlsName: string;
}

export type TlsFailureKind = "tcp" | "timeout" | "handshake" | "chain" | "expiry" | "name";

export class TlsConnectError extends Error {
  constructor(readonly kind: TlsFailureKind, readonly address: string, message: string, readonly code?: string) {
    super(message);
    this.name = "TlsConnectError";
  }
}

export interface ConnectOptions {
  readonly timeoutMs?: number;
  readonly trace?: Trace;
}

const CHAIN_EXPIRY_CODES = new Set(["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID"]);

export function formatAddress(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Steps 1-4: a checked TLS socket, or a TlsConnectError saying which check failed. */
export function connectTls(target: TlsTarget, policy: TlsPolicy, opts: ConnectOptions = {}): Promise<tls.TLSSocket> {
  const address = formatAddress(target.ip, target.port);
  const trace = opts.trace;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const sendSni = isIP(target.tlsName) === 0;
  return new Promise((resolve, reject) => {
    let settled = false;
    let tcpUp = false;
    const socket = tls.connect({
      host: target.ip,
      port: target.port,
      // Step 2.
      ...(sendSni ? { servername: target.tlsName } : {}),
      ...(policy.ca ? { ca: [...policy.ca] } : {}),
      minVersion: policy.minVersion,
      ALPNProtocols: ["http/1.1"],
      rejectUnauthorized: false,
      // Our own name check below replaces node's (which would compare against the IP we dialled).
      checkServerIdentity: () => undefined,
    });
    const fail = (err: TlsConnectError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      trace?.step({ check: checkFor(err.kind), ok: false, address, detail: err.message, ...(fixFor(err.kind, target) ? { fix: fixFor(err.kind, target)! } : {}) });
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new TlsConnectError("timeout", address, `no TLS handshake with ${address} within ${timeoutMs} ms${tcpUp ? "" : " (TCP did not connect)"}`)),
      timeoutMs,
    );
    socket.once("connect", () => {
      tcpUp = true;
    });
    socket.once("error", (e: NodeJS.ErrnoException) => {
      const kind: TlsFailureKind = tcpUp ? "handshake" : "tcp";
      fail(new TlsConnectError(kind, address, `${kind === "tcp" ? "cannot connect to" : "TLS handshake failed with"} ${address}: ${e.message}`, e.code));
    });
    socket.once("secureConnect", () => {
      if (settled) return;
      trace?.step({
        check: "tls.handshake", ok: true, address,
        detail: `${socket.getProtocol() ?? "TLS"} with ${address}${sendSni ? `, SNI ${target.tlsName}` : ", no SNI (IP literal)"}`,
      });
      // Step 3.
      if (policy.verifies(target.tlsName)) {
        if (!socket.authorized) {
          const code = String(socket.authorizationError ?? "UNKNOWN");
          const kind: TlsFailureKind = CHAIN_EXPIRY_CODES.has(code) ? "expiry" : "chain";
          fail(new TlsConnectError(kind, address, `certificate of ${address} refused: ${describeChainError(code)}`, code));
          return;
        }
        const cert = socket.getPeerCertificate();
        const cn = typeof cert.subject?.CN === "string" ? cert.subject.CN : undefined;
        const v = checkCertificateName(parseSubjectAltName(cert.subjectaltname, cn), target.tlsName);
        if (!v.ok) {
          fail(new TlsConnectError("name", address, `certificate of ${address} does not cover ${target.tlsName}: ${v.reason}`, "ERR_TLS_CERT_NAME"));
          return;
        }
        trace?.step({ check: "tls.chain", ok: true, address, detail: `chain trusted, valid until ${cert.valid_to}` });
        trace?.step({
          check: "tls.name", ok: true, address,
          detail: `certificate covers ${target.tlsName} (${v.matched}${v.wildcard ? ", wildcard" : ""})`,
        });
      } else {
        trace?.step({
          check: "tls.chain", ok: true, warn: true, address,
          detail: `certificate of ${target.tlsName} not verified (federation_verify_certificates off or name whitelisted)`,
        });
      }
      settled = true;
      clearTimeout(timer);
      resolve(socket);
    });
  });
}

function describeChainError(code: string): string {
  switch (code) {
    case "CERT_HAS_EXPIRED": return "the certificate has expired (CERT_HAS_EXPIRED)";
    case "CERT_NOT_YET_VALID": return "the certificate is not valid yet (CERT_NOT_YET_VALID)";
    case "DEPTH_ZERO_SELF_SIGNED_CERT": return "the certificate is self-signed (DEPTH_ZERO_SELF_SIGNED_CERT)";
    case "SELF_SIGNED_CERT_IN_CHAIN": return "the chain ends in an untrusted self-signed CA (SELF_SIGNED_CERT_IN_CHAIN)";
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
      return `the chain does not lead to a trusted CA; is the intermediate certificate missing? (${code})`;
    default: return `the chain is not trusted (${code})`;
  }
}

function checkFor(kind: TlsFailureKind): string {
  switch (kind) {
    case "tcp": case "timeout": return "conn.tcp";
    case "handshake": return "tls.handshake";
    case "chain": return "tls.chain";
    case "expiry": return "tls.expiry";
    case "name": return "tls.name";
  }
}

function fixFor(kind: TlsFailureKind, t: TlsTarget): string | undefined {
  switch (kind) {
    case "tcp": case "timeout": return `Make sure the federation listener accepts connections on ${formatAddress(t.ip, t.port)} and no firewall drops them.`;
    case "handshake": return "Serve TLS (not plain HTTP) on the federation port, with TLS 1.2 or 1.3.";
    case "chain": return "Serve the full chain (certificate followed by its intermediates), issued by a publicly trusted CA.";
    case "expiry": return "Renew the certificate.";
    case "name": return `Get a certificate whose subjectAltName covers ${t.tlsName}.`;
  }
}
