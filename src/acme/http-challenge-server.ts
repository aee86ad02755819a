/**
 * The port-80 listener for HTTP-01 (RFC 8555 section 8.3): it answers
 * `GET /.well-known/acme-challenge/<token>` from the pending challenges and redirects everything else to HTTPS.
 * It does nothing else: no Matrix API is ever served in plain HTTP.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ChallengeResponder } from "./challenges.js";

const CHALLENGE_PREFIX = "/.well-known/acme-challenge/";
/** A host name or IPv4 literal, optionally with a port: anything else is not echoed into a Location header. */
const HOST_HEADER = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export interface HttpChallengeServerOptions {
  readonly host: string;
  /** 80 in production; 0 (ephemeral) in tests. */
  readonly port: number;
  /** Where answers come from (a ChallengeResponder, or anything that can look a token up). */
  readonly responder: Pick<ChallengeResponder, "httpResponse">;
  /** The port HTTPS redirects point at (default 443: no port in the URL). */
  readonly httpsPort?: number;
}

export interface HttpChallengeServer {
  readonly port: number;
  close(): Promise<void>;
}

function handle(req: IncomingMessage, res: ServerResponse, opts: HttpChallengeServerOptions): void {
  const url = req.url ?? "/";
  if (url.startsWith(CHALLENGE_PREFIX) && (req.method === "GET" || req.method === "HEAD")) {
    const token = url.slice(CHALLENGE_PREFIX.length);
    const answer = /^[A-Za-z0-9_-]+$/.test(token) ? opts.responder.httpResponse(token) : undefined;
    if (answer === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("no such challenge\n");
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream" }).end(req.method === "HEAD" ? undefined : answer);
    return;
  }
  const hostHeader = req.headers.host ?? "";
  if (!HOST_HEADER.test(hostHeader)) {
    res.writeHead(400, { "content-type": "text/plain" }).end("missing or invalid Host header\n");
    return;
  }
  const hostname = hostHeader.replace(/:\d+$/, "");
  const port = opts.httpsPort === undefined || opts.httpsPort === 443 ? "" : `:${opts.httpsPort}`;
  res.writeHead(301, { location: `https://${hostname}${port}${url.startsWith("/") ? url : "/"}` }).end();
}

export async function startHttpChallengeServer(opts: HttpChallengeServerOptions): Promise<HttpChallengeServer> {
  const server = createServer((req, res) => handle(req, res, opts));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.removeListener("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
