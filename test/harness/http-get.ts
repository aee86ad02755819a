/**
 * Small HTTP(S) requests for tests of a Zion server: HTTPS verifies the
 * server's certificate against a given CA (e.g. its self-signed certificate)
 * under a given TLS name, so tests check real TLS rather than switching
 * verification off.
 */
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { readFileSync } from "node:fs";

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  json(): Record<string, unknown>;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** PEM of the CA (or self-signed certificate) to trust for https. */
  readonly ca?: string;
  /** The TLS name to check the certificate against (default: the URL's host). */
  readonly servername?: string;
  readonly timeoutMs?: number;
}

function hasHeader(headers: RequestOptions["headers"], name: string): boolean {
  return headers !== undefined && Object.keys(headers).some((k) => k.toLowerCase() === name);
}

export function httpCall(url: string, options: RequestOptions = {}): Promise<Reply> {
  const u = new URL(url);
  const isHttps = u.protocol === "https:";
  return new Promise((resolve, reject) => {
    const req = (isHttps ? httpsRequest : httpRequest)(
      {
        host: u.hostname.replace(/^\[|\]$/g, ""),
        port: u.port,
        path: `${u.pathname}${u.search}`,
        method: options.method ?? "GET",
        // A body goes with its Content-Length: without it Node sends a DELETE's body unframed and servers refuse it.
        headers: options.body === undefined || hasHeader(options.headers, "content-length")
          ? (options.headers ?? {})
          : { ...options.headers, "content-length": String(Buffer.byteLength(options.body)) },
        agent: false,
        ...(isHttps ? { ca: options.ca, servername: options.servername ?? u.hostname } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) as Record<string, unknown> });
        });
        res.on("error", reject);
      },
    );
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on("error", reject);
    req.end(options.body);
  });
}

/** Options trusting a test server's self-signed certificate under its server name. */
export function trustCert(certificatePath: string, servername: string): Pick<RequestOptions, "ca" | "servername"> {
  return { ca: readFileSync(certificatePath, "utf8"), servername };
}

/**
 * A client-API caller for a server at `baseUrl`: a JSON body (an object, or a string sent as it is) with
 * Content-Length always (node's client sends a DELETE body unframed otherwise), and a Bearer token when given.
 */
export function clientCaller(baseUrl: () => string | undefined): (method: string, path: string, body?: unknown, token?: string, timeoutMs?: number) => Promise<Reply> {
  return (method, path, body, token, timeoutMs) => {
    const text = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const framing = text === undefined ? {} : { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) };
    return httpCall(`${baseUrl()}${path}`, { method, headers: { ...framing, ...(token ? { authorization: `Bearer ${token}` } : {}) }, ...(text !== undefined ? { body: text } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
  };
}

/** Asserts a Matrix error reply: the status, the errcode, a string `error`; returns the body. */
export function expectMatrixError(r: Reply, status: number, errcode: string): Record<string, unknown> {
  if (r.status !== status) throw new Error(`expected ${status} ${errcode}, got ${r.status}: ${r.body}`);
  const j = r.json();
  if (j["errcode"] !== errcode || typeof j["error"] !== "string") throw new Error(`expected ${errcode} with an error message, got ${r.body}`);
  return j;
}
