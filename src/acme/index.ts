/** The ACME layer (RFC 8555): obtain and renew certificates; see docs/certificates.md. */
export type { AcmeChallengeType, AcmeLog, AcmeOptions, CertificatePair } from "./options.js";
export { AcmeManager, type AcmeStatus, type RenewOutcome } from "./manager.js";
export { ChallengeResponder } from "./challenges.js";
export { startHttpChallengeServer, type HttpChallengeServer, type HttpChallengeServerOptions } from "./http-challenge-server.js";
export { attachTlsAlpnChallenges, ACME_TLS_ALPN, type TlsAlpnRouter } from "./tls-alpn.js";
export {
  checkCertificatePair, coversAll, nameCovers, splitPemChain, type CertificateInfo, type PairVerdict,
} from "./certificate.js";
export { renewalDueAt, retryDelay, renewalWarning } from "./schedule.js";
export { CERTIFICATE_FILE, PRIVATE_KEY_FILE, STATUS_FILE, readStatusFile, readStoredPair } from "./storage.js";
