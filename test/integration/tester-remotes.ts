/**
 * Misconfigured peers for the tester's scenario tests: small node https servers on the tester's loopback range
 * (127.0.6.x), serving /.well-known/matrix/server (and client) on 443 and a minimal federation API on 8448 (or
 * another port) with server keys signed by a real ed25519 key, each configurable to make one mistake.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { signJson, signingKeyFromSeed, publicKeyBase64 } from "../../src/core/crypto/index.js";
import type { JsonObject } from "../../src/core/json/types.js";

export interface TlsFiles {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface WellKnownSpec {
  readonly tls: TlsFiles;
  readonly status?: number;
  readonly contentType?: string;
  /** Raw body of /.well-known/matrix/server. */
  readonly serverBody?: string;
  /** Raw body of /.well-known/matrix/client (404 when absent). */
  readonly clientBody?: string;
  readonly clientCors?: boolean;
  /** Answer /.well-known/matrix/server with a 301 to this path (which then serves serverBody). */
  readonly redirectTo?: string;
  /** Extra headers on /.well-known/matrix/server (e.g. Cache-Control). */
  readonly serverHeaders?: Readonly<Record<string, string>>;
}

export interface FederationSpec {
  readonly tls: TlsFiles;
  readonly port?: number;
  /** server_name written into the keys (default: the tested name). */
  readonly keysServerName: string;
  /** Break the self-signature after signing. */
  readonly tamperSignature?: boolean;
  /** A fixed seed, so two addresses can serve the same keys. */
  readonly seed?: Uint8Array;
  /** Answer /_matrix/federation/v1/version with this status and no JSON (a proxy that does not route it). */
  readonly versionStatus?: number;
}

export interface Running {
  stop(): Promise<void>;
}

function listen(server: Server, ip: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, ip, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

export async function serveWellKnown(ip: string, spec: WellKnownSpec, port = 443): Promise<Running> {
  const server = createServer({ cert: spec.tls.certPem, key: spec.tls.keyPem }, (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === "/.well-known/matrix/server" && spec.redirectTo !== undefined) {
      res.writeHead(301, { location: spec.redirectTo });
      res.end();
    } else if ((req.url === "/.well-known/matrix/server" || (spec.redirectTo !== undefined && req.url === spec.redirectTo)) && spec.serverBody !== undefined) {
      res.writeHead(spec.status ?? 200, { "content-type": spec.contentType ?? "application/json", ...spec.serverHeaders });
      res.end(spec.serverBody);
    } else if (req.url === "/.well-known/matrix/client" && spec.clientBody !== undefined) {
      res.writeHead(200, { "content-type": "application/json", ...(spec.clientCors ? { "access-control-allow-origin": "*" } : {}) });
      res.end(spec.clientBody);
    } else {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"errcode":"M_NOT_FOUND","error":"Not found"}');
    }
  });
  await listen(server, ip, port);
  return { stop: () => close(server) };
}

export async function serveFederation(ip: string, spec: FederationSpec, clock: () => number = Date.now): Promise<Running> {
  const key = signingKeyFromSeed("t1", spec.seed ?? randomBytes(32));
  const server = createServer({ cert: spec.tls.certPem, key: spec.tls.keyPem }, (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === "/_matrix/key/v2/server") {
      const body: JsonObject = {
        server_name: spec.keysServerName,
        valid_until_ts: clock() + 3600_000,
        verify_keys: { [key.keyId]: { key: publicKeyBase64(key) } },
        old_verify_keys: {},
      };
      let signed = signJson(body, spec.keysServerName, key) as Record<string, unknown>;
      if (spec.tamperSignature) signed = { ...signed, valid_until_ts: clock() + 7200_000 };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(signed));
    } else if (req.url === "/_matrix/client/versions") {
      res.writeHead(200, { "content-type": "application/json", "access-control-allow-origin": "*" });
      res.end(JSON.stringify({ versions: ["v1.11", "v1.12"] }));
    } else if (req.url === "/_matrix/federation/v1/version" && spec.versionStatus !== undefined) {
      res.writeHead(spec.versionStatus, { "content-type": "text/html" });
      res.end("<html><body>Not here</body></html>");
    } else if (req.url === "/_matrix/federation/v1/version") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ server: { name: "fake-remote", version: "1.0" } }));
    } else {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"errcode":"M_UNRECOGNIZED","error":"Unrecognized request"}');
    }
  });
  await listen(server, ip, spec.port ?? 8448);
  return { stop: () => close(server) };
}

/**
 * The tester's scenario files bind fixed ports (443, 8448: the spec's) on fixed 127.0.6.x addresses. Two whole
 * test suites running at once on one machine (several checkouts, several sessions) would collide there, so each
 * file holds a machine-wide lock while its servers run; a lock left by a dead process is taken over.
 */
export async function lockAddresses(name: string, timeoutMs = 90_000): Promise<() => void> {
  const { mkdirSync, readFileSync, rmSync, writeFileSync } = await import("node:fs");
  const dir = `/tmp/zion-tester-${name}.lock`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(`${dir}/pid`, String(process.pid));
      return () => rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      let holder = NaN;
      try {
        holder = Number(readFileSync(`${dir}/pid`, "utf8"));
      } catch {
        /* being written or removed */
      }
      let alive = true;
      if (Number.isInteger(holder) && holder > 0) {
        try {
          process.kill(holder, 0);
        } catch {
          alive = false;
        }
      }
      if (!alive) rmSync(dir, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`${dir} is held by process ${holder} for more than ${timeoutMs} ms`);
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
}
