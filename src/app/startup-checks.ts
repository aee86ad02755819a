/**
 * What `zion start` says loudly once the server is up: a federation certificate that does not cover the name other
 * servers will expect (they refuse the handshake, and nothing else would tell the operator), and where the
 * federation tester answers when it is enabled.
 */
import { X509Certificate } from "node:crypto";
import { federationEndpoint, type HomeserverConfig } from "../config/index.js";
import { checkCertificateName, parseSubjectAltName } from "../federation/tls/name-check.js";

/** A warning when the certificate served on a TLS federation listener does not cover where peers connect. */
export function certificateNameWarning(config: HomeserverConfig, certPem: string | undefined): string | undefined {
  const servesFederationOverTls = config.listeners.some((l) => l.type === "http" && l.tls && l.resources.some((r) => r.names.includes("federation")));
  if (!servesFederationOverTls || !config.federation_enabled || certPem === undefined) return undefined;
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch {
    return undefined; // an unreadable certificate stops start-up earlier
  }
  const endpoint = federationEndpoint(config);
  const cn = /^CN=(.*)$/m.exec(leaf.subject)?.[1];
  const verdict = checkCertificateName(parseSubjectAltName(leaf.subjectAltName, cn), endpoint.host);
  if (verdict.ok) return undefined;
  return `the federation certificate does not cover ${endpoint.host}, the name other servers will expect (${endpoint.via}): ${verdict.reason}. ` +
    `Every server will refuse to federate with this one until the certificate's subjectAltName includes ${endpoint.host}` +
    `${endpoint.delegated ? "" : " (or /.well-known/matrix/server delegates to a name it covers)"}; \`npx zion doctor -c\` checks it.`;
}

/** The federation tester's page on this server: where it listens, and under public_baseurl. */
export function testerUrls(config: HomeserverConfig, listenerBase: string | undefined): { local?: string; public: string } {
  return {
    ...(listenerBase !== undefined ? { local: `${listenerBase}/federation-tester` } : {}),
    public: `${config.public_baseurl}federation-tester`,
  };
}
