/**
 * One certificate order, RFC 8555 section 7.4 (https://datatracker.ietf.org/doc/html/rfc8555#section-7.4), through
 * the acme-client library's protocol calls. The library's own `auto()` is not used: it first checks challenges
 * itself over the system resolver, which is wrong for a server whose public address differs from what it resolves.
 */
import acme from "acme-client";
import { Agent } from "node:https";
import { rootCertificates } from "node:tls";
import type { ChallengeResponder } from "./challenges.js";
import type { AcmeChallengeType, AcmeLog, CertificatePair } from "./options.js";

/** Extra trust for private ACME servers, keyed by URL origin, applied to acme-client's HTTP requests. */
const agents = new Map<string, Agent>();
let interceptorInstalled = false;

/** Trusts `caBundlePem` (in addition to the public roots) for requests to the origin of `directoryUrl`. */
export function trustForDirectory(directoryUrl: string, caBundlePem: string): void {
  const origin = new URL(directoryUrl).origin;
  agents.set(origin, new Agent({ ca: [...rootCertificates, caBundlePem], keepAlive: false }));
  if (interceptorInstalled) return;
  interceptorInstalled = true;
  acme.axios.interceptors.request.use((config) => {
    if (config.url !== undefined) {
      try {
        const agent = agents.get(new URL(config.url).origin);
        if (agent) config.httpsAgent = agent;
      } catch {
        /* not an absolute URL: leave it to axios */
      }
    }
    return config;
  });
}

export interface OrderRequest {
  readonly directoryUrl: string;
  readonly accountKeyPem: string;
  readonly contactEmail?: string;
  readonly domains: readonly string[];
  readonly challenge: AcmeChallengeType;
  readonly responder: ChallengeResponder;
  readonly log: AcmeLog;
  readonly pollMinMs: number;
  readonly pollMaxMs: number;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs one order to a certificate. Throws an Error whose message says which step failed and the CA's words. */
export async function orderCertificate(req: OrderRequest): Promise<CertificatePair> {
  const client = new acme.Client({
    directoryUrl: req.directoryUrl,
    accountKey: req.accountKeyPem,
    backoffAttempts: 12,
    backoffMin: req.pollMinMs,
    backoffMax: req.pollMaxMs,
  });
  const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw new Error(`${what}: ${describe(err)}`);
    }
  };

  // Step 1 (section 7.3): find or create the account for this key.
  await step("account registration failed", () =>
    client.createAccount({
      termsOfServiceAgreed: true,
      ...(req.contactEmail ? { contact: [`mailto:${req.contactEmail}`] } : {}),
    }),
  );
  // Step 2 (section 7.4): a new order for the names.
  const order = await step(`the CA refused the order for ${req.domains.join(", ")}`, () =>
    client.createOrder({ identifiers: req.domains.map((value) => ({ type: "dns", value })) }),
  );
  // Step 3 (section 7.5): prove control of each name still pending.
  const authzs = await step("fetching authorizations failed", () => client.getAuthorizations(order));
  await Promise.all(
    authzs.map(async (authz) => {
      const name = authz.identifier.value;
      if (authz.status === "valid") return;
      const challenge = authz.challenges.find((c) => c.type === req.challenge);
      if (!challenge) {
        throw new Error(`the CA offers no ${req.challenge} challenge for ${name} (offered: ${authz.challenges.map((c) => c.type).join(", ")})`);
      }
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      if (challenge.type === "http-01") {
        req.responder.addHttp(challenge.token, keyAuthorization);
      } else {
        const alpnKey = await acme.crypto.createPrivateEcdsaKey();
        const [, alpnCert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization, alpnKey);
        req.responder.addAlpn(name, alpnCert.toString(), alpnKey.toString());
      }
      try {
        await step(`${req.challenge} validation of ${name} failed`, async () => {
          await client.completeChallenge(challenge);
          await client.waitForValidStatus(challenge);
        });
      } finally {
        if (challenge.type === "http-01") req.responder.removeHttp(challenge.token);
        else req.responder.removeAlpn(name);
      }
      req.log.info({ domain: name, challenge: req.challenge }, "acme: name validated");
    }),
  );
  // Step 4 (section 7.4): finalize with a CSR for a fresh key, then download the chain.
  const [keyPem, csr] = await acme.crypto.createCsr(
    { commonName: req.domains[0]!, altNames: [...req.domains] },
    await acme.crypto.createPrivateEcdsaKey(),
  );
  const finalized = await step("finalizing the order failed", () => client.finalizeOrder(order, csr));
  const certPem = await step("downloading the certificate failed", () => client.getCertificate(finalized));
  return { certPem, keyPem: keyPem.toString() };
}
