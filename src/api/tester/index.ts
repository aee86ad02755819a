/**
 * The federation tester's HTTP routes, served when `federation_tester.enabled` is true:
 *
 *   GET /api/report?server_name=X        the JSON report (matrix-federation-tester's fields plus Zion's)
 *   GET /api/federation-ok?server_name=X "GOOD" or "BAD"
 *   GET /federation-tester               a small page that renders reports (also at /federation-tester/)
 *
 * api/ may not import tester/, so the routes take the tester as a dependency slice (`federationTester`), which
 * app/ fills with tester/'s TesterApi (it matches `FederationTesterPort` structurally). The tester applies its own
 * per-address rate limit, because each test makes outbound connections; the address it is keyed by is `rateKey`
 * of the client address the HTTP layer determined (X-Forwarded-For only from a trusted proxy, docs/http.md).
 * JSON replies are sent the way every other route sends JSON (docs/http.md: `Content-Type: application/json`,
 * compact), whatever formatting the tester chose.
 */
import { isIP } from "node:net";
import { ipv6Groups } from "../../federation/discovery/index.js";
import { defineRoute, HttpResponse, type Route } from "../http/route.js";

export interface TesterReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface FederationTesterPort {
  report(query: Readonly<Record<string, unknown>>, client: string): Promise<TesterReply>;
  federationOk(query: Readonly<Record<string, unknown>>, client: string): Promise<TesterReply>;
  page(): TesterReply;
}

export interface TesterDeps {
  readonly federationTester: FederationTesterPort;
}

function reply(r: TesterReply): HttpResponse {
  const { "content-type": contentType = "text/plain; charset=utf-8", ...rest } = r.headers;
  if (/^application\/json\b/i.test(contentType)) return HttpResponse.json(r.status, JSON.parse(r.body) as unknown, rest);
  return HttpResponse.text(r.status, r.body, contentType, rest);
}

/**
 * Whom the tester's rate limit counts: an IPv4 address (an IPv4-mapped one as IPv4), or the /64 of an IPv6
 * address, since one IPv6 host usually holds a whole /64 and could otherwise change address per request.
 */
export function rateKey(address: string): string {
  const mapped = /^::ffff:([0-9.]+)$/i.exec(address);
  if (mapped && isIP(mapped[1]!) === 4) return mapped[1]!;
  if (isIP(address) !== 6) return address;
  return `${ipv6Groups(address).slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

export const testerReport: Route<TesterDeps> = defineRoute<Record<string, string>, Record<string, unknown>, undefined, "none", TesterDeps>({
  method: "GET", path: "/api/report", auth: "none", resource: "public", cors: true,
  async handle({ query, request }, { federationTester }) {
    return reply(await federationTester.report(query, rateKey(request.remoteAddress)));
  },
});

export const testerFederationOk: Route<TesterDeps> = defineRoute<Record<string, string>, Record<string, unknown>, undefined, "none", TesterDeps>({
  method: "GET", path: "/api/federation-ok", auth: "none", resource: "public", cors: true,
  async handle({ query, request }, { federationTester }) {
    return reply(await federationTester.federationOk(query, rateKey(request.remoteAddress)));
  },
});

function pageRoute(path: string): Route<TesterDeps> {
  return defineRoute<Record<string, string>, Record<string, string>, undefined, "none", TesterDeps>({
    method: "GET", path, auth: "none", resource: "public",
    handle(_input, { federationTester }) {
      return reply(federationTester.page());
    },
  });
}

export const testerPage: Route<TesterDeps> = pageRoute("/federation-tester");
/** The same page with a trailing slash (the page finds api/report from either). */
export const testerPageSlash: Route<TesterDeps> = pageRoute("/federation-tester/");

/** Registered by app/ only when federation_tester.enabled is true. */
export const testerRoutes: readonly Route<TesterDeps>[] = [testerReport, testerFederationOk, testerPage, testerPageSlash];
