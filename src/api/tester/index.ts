/**
 * The federation tester's HTTP routes, served when `federation_tester.enabled` is true:
 *
 *   GET /api/report?server_name=X        the JSON report (matrix-federation-tester's fields plus Zion's)
 *   GET /api/federation-ok?server_name=X "GOOD" or "BAD"
 *   GET /federation-tester               a small page that renders reports (also at /federation-tester/)
 *
 * api/ may not import tester/, so the routes take the tester as a dependency slice (`federationTester`), which
 * app/ fills with tester/'s TesterApi (it matches `FederationTesterPort` structurally). The tester applies its own
 * per-address rate limit, because each test makes outbound connections.
 */
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
  return HttpResponse.text(r.status, r.body, contentType, rest);
}

export const testerReport: Route<TesterDeps> = defineRoute<Record<string, string>, Record<string, unknown>, undefined, "none", TesterDeps>({
  method: "GET", path: "/api/report", auth: "none", resource: "public", cors: true,
  async handle({ query, request }, { federationTester }) {
    return reply(await federationTester.report(query, request.remoteAddress));
  },
});

export const testerFederationOk: Route<TesterDeps> = defineRoute<Record<string, string>, Record<string, unknown>, undefined, "none", TesterDeps>({
  method: "GET", path: "/api/federation-ok", auth: "none", resource: "public", cors: true,
  async handle({ query, request }, { federationTester }) {
    return reply(await federationTester.federationOk(query, request.remoteAddress));
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
