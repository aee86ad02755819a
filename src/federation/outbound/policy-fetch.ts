/**
 * Plain HTTP(S) GETs to URLs a remote party chose (a federation media redirect, a URL preview), under the same
 * outbound address policy as federation: every address a name resolves to passes the IpRangePolicy before Zion
 * connects (the connection is pinned to a checked address, so a second DNS answer cannot swap it), an IP-literal
 * host is checked as it is, and each redirect is checked again. Bounded in bytes, time and redirects.
 *
 * GET by default; with `method: "POST"` and a `body` (a push gateway's notify) the body is sent once and redirects
 * are not followed (a 3xx answer is returned as it is), so a POST is never replayed to another address.
 */
import { isIP } from "node:net";
import type { Dns } from "../discovery/dns.js";
import type { IpRangePolicy } from "../discovery/ip-ranges.js";
import { lookupAddresses } from "../discovery/resolve.js";
import { NO_TRACE } from "../trace.js";

export interface PolicyFetchOptions {
  readonly dns: Dns;
  readonly ipPolicy: IpRangePolicy;
  readonly maxBytes: number;
  readonly timeoutMs: number;
  /** Redirects followed at most (default 5). */
  readonly maxRedirects?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** "GET" (the default) or "POST" (sent with `body`, redirects not followed). */
  readonly method?: "GET" | "POST";
  readonly body?: string | Buffer;
  /** The user-agent's product comment (default "media"). */
  readonly purpose?: string;
}

export interface PolicyFetchResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  /** The URL that answered (after redirects). */
  readonly url: string;
}

export class PolicyFetchError extends Error {
  constructor(message: string, readonly kind: "refused" | "too-large" | "timeout" | "failed") {
    super(message);
    this.name = "PolicyFetchError";
  }
}

/** The one address a URL's host may be reached at, or a refusal naming the policy. */
async function checkedAddress(url: URL, dns: Dns, policy: IpRangePolicy): Promise<string> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  if (isIP(host)) {
    const v = policy.check(host);
    if (!v.ok) throw new PolicyFetchError(`refused to fetch ${url.origin}: ${v.reason}`, "refused");
    return host;
  }
  const found = await lookupAddresses(dns, policy, host, port, NO_TRACE);
  if (!found.ok) throw new PolicyFetchError(`refused to fetch ${url.origin}: ${found.reason}`, "refused");
  const first = found.targets[0];
  if (!first) throw new PolicyFetchError(`refused to fetch ${url.origin}: no allowed address`, "refused");
  return first.ip;
}

export async function policyFetch(raw: string, opts: PolicyFetchOptions): Promise<PolicyFetchResponse> {
  const { Agent, request } = await import("undici");
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PolicyFetchError(`not a URL: ${JSON.stringify(raw.slice(0, 200))}`, "refused");
  }
  for (let hop = 0; ; hop++) {
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new PolicyFetchError(`refused to fetch ${url.protocol} URLs (http and https only)`, "refused");
    const ip = await checkedAddress(url, opts.dns, opts.ipPolicy);
    // Pinned: whatever name the URL has, the socket goes to the checked address (TLS still checks the name).
    const agent = new Agent({
      connect: { lookup: (_h: string, o: { all?: boolean }, cb: (e: Error | null, a: unknown, f?: number) => void) => (o.all ? cb(null, [{ address: ip, family: isIP(ip) }]) : cb(null, ip, isIP(ip))) } as never,
    });
    try {
      let res;
      try {
        const method = opts.method ?? "GET";
        res = await request(url, {
          method,
          headers: { "user-agent": `Zion (${opts.purpose ?? "media"})`, ...opts.headers },
          ...(method === "POST" && opts.body !== undefined ? { body: opts.body } : {}),
          dispatcher: agent,
          signal: deadline,
        });
      } catch (e) {
        if (deadline.aborted) throw new PolicyFetchError(`no answer from ${url.origin} within ${opts.timeoutMs} ms`, "timeout");
        throw new PolicyFetchError(`fetching ${url.origin} failed: ${(e as Error).message}`, "failed");
      }
      const location = res.headers["location"];
      // undici's body fails with "Request aborted" when destroyed unread: listen, so that is not an uncaught error.
      res.body.on("error", () => undefined);
      if ((opts.method ?? "GET") === "GET" && res.statusCode >= 300 && res.statusCode < 400 && typeof location === "string") {
        res.body.destroy();
        if (hop >= (opts.maxRedirects ?? 5)) throw new PolicyFetchError(`more than ${opts.maxRedirects ?? 5} redirects from ${raw.slice(0, 200)}`, "failed");
        url = new URL(location, url);
        continue;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      try {
        for await (const c of res.body) {
          size += (c as Buffer).length;
          if (size > opts.maxBytes) {
            res.body.destroy();
            throw new PolicyFetchError(`the answer from ${url.origin} is larger than ${opts.maxBytes} bytes`, "too-large");
          }
          chunks.push(c as Buffer);
        }
      } catch (e) {
        if (e instanceof PolicyFetchError) throw e;
        if (deadline.aborted) throw new PolicyFetchError(`the answer from ${url.origin} did not complete within ${opts.timeoutMs} ms`, "timeout");
        throw new PolicyFetchError(`reading from ${url.origin} failed: ${(e as Error).message}`, "failed");
      }
      return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), url: url.toString() };
    } finally {
      void agent.close().catch(() => undefined);
    }
  }
}
