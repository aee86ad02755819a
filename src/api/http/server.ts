/**
 * The HTTP surface on fastify (the only importer of the framework). One
 * HttpApp holds the routes of one configured listener; it can listen on
 * several addresses, plain or TLS, sharing one request handler.
 *
 * Behaviour every route gets:
 * - bodies are read as bytes under a size limit (413 M_TOO_LARGE), parsed as
 *   JSON only when the route declares a body (M_NOT_JSON), then validated
 *   (M_BAD_JSON naming the field);
 * - x-matrix routes authenticate (deps.federationAuth) and pass the
 *   federation_domain_whitelist check before validation or the handler run;
 *   then validation and the handler run under the per-origin rc_federation
 *   limiter (federationRateLimiter), as Synapse's federation servlets do:
 *   429 M_LIMIT_EXCEEDED past reject_limit, a delay past sleep_limit, at most
 *   `concurrent` at once (routes with ownFederationRateLimit, PUT /send,
 *   apply it themselves); a request whose client went away while it waited
 *   is not run;
 * - errors render as `{errcode, error}`: MatrixError as it stands, anything
 *   else as 500 M_UNKNOWN logged with the request id;
 * - unknown paths are 404 M_UNRECOGNIZED, known paths with another method
 *   405 M_UNRECOGNIZED (with Allow), OPTIONS is answered for CORS;
 * - every JSON response is `Content-Type: application/json`; client, media
 *   and well-known responses carry the CORS headers of the client-server API;
 * - one structured log line per request with its request id;
 * - requests Node's HTTP parser refuses (bad bytes in the path, bad Content-Length, oversized headers) are
 *   answered with a Matrix error body too (onClientError), not the parser's bare status line.
 */
import { createServer as createHttpServer, maxHeaderSize as httpMaxHeaderSize, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { SecureContextOptions } from "node:tls";
import { randomBytes } from "node:crypto";
import { Readable, type Duplex } from "node:stream";
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { ZodError, ZodType } from "zod";
import { MatrixError } from "../../core/errors.js";
import type { ServerName, UserId } from "../../core/ids/index.js";
import { parseJsonStrict } from "../../core/json/parse.js";
import type { JsonValue } from "../../core/json/types.js";
import { refuseAllAccessTokens, refuseAllFederationAuth, type AccessTokenAuth, type FederationAuth, type FederationOriginPolicy, type FederationRequestLimiter } from "./federation-auth.js";
import { HttpResponse, type BodyStream, type RequestInfo, type Route, type RouteResult } from "./route.js";

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Who may set X-Forwarded-For on an x_forwarded listener unless trusted_proxies says otherwise. */
export const DEFAULT_TRUSTED_PROXIES: readonly string[] = ["127.0.0.0/8", "::1/128"];
/** The body limit of a route anyone may call (`auth: "none"`) unless it sets its own. */
export const DEFAULT_UNAUTHENTICATED_MAX_BODY_BYTES = 64 * 1024;

/** The client-server API's CORS headers: https://spec.matrix.org/v1.16/client-server-api/#web-browser-clients */
export const CORS_HEADERS: Readonly<Record<string, string>> = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS",
  "access-control-allow-headers": "X-Requested-With, Content-Type, Authorization",
};

const CORS_PREFIXES = ["/_matrix/client/", "/_matrix/media/", "/.well-known/matrix/"];

export interface HttpAppOptions<D> {
  readonly routes: readonly Route<D>[];
  /** Handed to every handler (each takes the slice it declares). */
  readonly deps: D;
  readonly logger: Logger;
  /** X-Matrix verification for `auth: "x-matrix"` routes (default: refuse everything with 401). */
  readonly federationAuth?: FederationAuth;
  /** Access-token lookup for `auth: "access-token"` routes (default: every token is unknown, 401). */
  readonly accessTokenAuth?: AccessTokenAuth;
  /** federation_domain_whitelist (default: everyone). */
  readonly federationOriginAllowed?: FederationOriginPolicy;
  /**
   * rc_federation per verified origin around every `auth: "x-matrix"` route but those with ownFederationRateLimit
   * (default: none). One limiter may serve several apps (listeners), so an origin's requests count together.
   */
  readonly federationRateLimiter?: FederationRequestLimiter;
  /** Take the client address from X-Forwarded-For (and -Proto, -Host) sent by a trusted proxy (the listener's x_forwarded). */
  readonly trustProxy?: boolean;
  /**
   * With trustProxy, the peers whose X-Forwarded-* headers count (addresses or CIDR ranges; the listener's
   * trusted_proxies, default DEFAULT_TRUSTED_PROXIES: loopback). From any other peer the headers are ignored and
   * the client address is the peer's own; through a chain of trusted proxies it is the last address not trusted.
   */
  readonly trustedProxies?: readonly string[];
  /** Take the request id from this header when present (the listener's request_id_header). */
  readonly requestIdHeader?: string;
  /** Default body limit for routes that do not set one. */
  readonly maxBodyBytes?: number;
  /** A name for this app's log lines, e.g. "listener0". */
  readonly name?: string;
  /** Told of every response once sent (metrics): the route's path template as `servlet`, "unmatched" for none. */
  readonly onResponse?: (r: { method: string; servlet: string; status: number; seconds: number }) => void;
}

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  /** Serve HTTPS with this certificate and key (app/tls.ts builds it). */
  readonly tls?: SecureContextOptions;
}

export interface BoundAddress {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** The node server: https.Server for TLS, so `setSecureContext` can swap the certificate. */
  readonly server: Server;
}

export interface InjectResult {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string | string[] | number | undefined>>;
  readonly body: string;
}

export interface HttpApp {
  listen(options: ListenOptions): Promise<BoundAddress>;
  readonly bound: readonly BoundAddress[];
  /** Requests received and not yet answered. */
  inFlight(): number;
  /**
   * Graceful stop: stop accepting, let in-flight requests finish (up to graceMs,
   * default 30 s, then cut the remaining connections), then close the app.
   */
  close(options?: { graceMs?: number }): Promise<void>;
  /** In-process request for unit tests (no socket). */
  inject(request: { method: string; url: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<InjectResult>;
}

let requestCounter = 0;
const requestPrefix = randomBytes(3).toString("hex");

interface RouteConfig {
  cors?: boolean;
}

function compilePath(path: string): RegExp {
  const esc = path
    .split("/")
    .map((seg) => (seg.startsWith(":") ? "[^/]+" : seg === "*" ? ".*" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${esc}$`);
}

function zodMessage(err: ZodError, prefix: string): string {
  const first = err.issues[0];
  if (!first) return `${prefix}: invalid`;
  const path = first.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
  const where = `${prefix}${path}`;
  const more = err.issues.length > 1 ? ` (and ${err.issues.length - 1} more)` : "";
  return `${where}: ${first.message}${more}`;
}

function validate<T>(schema: ZodType<T> | undefined, value: unknown, kind: "body" | "query" | "params"): T {
  if (!schema) return value as T;
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const msg = zodMessage(r.error, kind === "body" ? "body" : kind);
  if (kind === "body") throw MatrixError.badJson(msg);
  throw new MatrixError("M_INVALID_PARAM", 400, msg);
}

function fastifyErrorToMatrix(err: { code?: string; statusCode?: number; message: string }, limit: number): MatrixError | undefined {
  if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE" || err.statusCode === 413) return MatrixError.tooLarge(`request body is larger than the limit of ${limit} bytes`);
  if (err.code === "FST_ERR_BAD_URL") return new MatrixError("M_UNRECOGNIZED", 400, "the request path is not valid percent-encoded UTF-8");
  if (err.code === "FST_ERR_MAX_PARAM_LENGTH") return new MatrixError("M_TOO_LARGE", 414, "a path segment of the request is too long");
  if (err.code === "FST_ERR_CTP_INVALID_CONTENT_LENGTH") return new MatrixError("M_UNKNOWN", 400, "request body length does not match Content-Length");
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return new MatrixError("M_UNKNOWN", err.statusCode, err.message);
  return undefined;
}

/** The request stream, failing with 413 M_TOO_LARGE once more than `limit` bytes have arrived. */
async function* limitedStream(source: Readable, limit: number): BodyStream {
  let seen = 0;
  for await (const chunk of source) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    seen += buf.length;
    if (seen > limit) {
      source.pause(); // the handler answers 413 and the connection closes (see addRoute)
      throw MatrixError.tooLarge(`request body is larger than the limit of ${limit} bytes`);
    }
    yield buf;
  }
}

const STATUS_TEXT: Readonly<Record<number, string>> = { 400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large" };

/**
 * Requests Node's own HTTP parser refuses before any route or framework code runs (bad bytes in the path, a bad
 * Content-Length, headers over the limit, a request that takes too long to arrive): answered with a Matrix error
 * body like every other error, then the connection is closed (the parser cannot continue on it).
 */
export function parserErrorResponse(err: { code?: string; message: string }): { status: number; body: { errcode: string; error: string } } {
  const detail = err.message.replace(/^Parse Error: /, "");
  switch (err.code) {
    case "HPE_HEADER_OVERFLOW":
      return { status: 431, body: { errcode: "M_TOO_LARGE", error: `the request headers are larger than the limit of ${httpMaxHeaderSize} bytes` } };
    case "HPE_INVALID_URL":
      return { status: 400, body: { errcode: "M_UNRECOGNIZED", error: `the request path contains a byte not allowed in a URL (${detail})` } };
    case "HPE_INVALID_CONTENT_LENGTH":
    case "HPE_UNEXPECTED_CONTENT_LENGTH":
      return { status: 400, body: { errcode: "M_UNKNOWN", error: `the request's Content-Length is not valid (${detail})` } };
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return { status: 408, body: { errcode: "M_UNKNOWN", error: "the request did not arrive in time" } };
    default:
      return { status: 400, body: { errcode: "M_UNKNOWN", error: `malformed HTTP request (${detail})` } };
  }
}

function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  const inProgress = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (err.code === "ECONNRESET" || !socket.writable || inProgress) {
    socket.destroy();
    return;
  }
  const { status, body } = parserErrorResponse(err);
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Bad Request"}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
  );
}

/** `Authorization: Bearer <token>`, else the deprecated `access_token` query parameter. */
function accessTokenOf(authorization: string | undefined, query: unknown): string | undefined {
  if (authorization !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return m ? m[1] : undefined;
  }
  const q = (query as Record<string, unknown> | undefined)?.["access_token"];
  return typeof q === "string" && q.length > 0 ? q : undefined;
}

export function createHttpApp<D>(options: HttpAppOptions<D>): HttpApp {
  const defaultLimit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const federationAuth = options.federationAuth ?? refuseAllFederationAuth;
  const originAllowed = options.federationOriginAllowed ?? (() => true);
  const accessTokens = options.accessTokenAuth ?? refuseAllAccessTokens;
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  let inFlight = 0;
  let closing = false;
  const bound: BoundAddress[] = [];

  const app = Fastify({
    loggerInstance: options.logger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "request_id" }),
    genReqId: () => `${requestPrefix}-${(++requestCounter).toString(36)}`,
    ...(options.requestIdHeader ? { requestIdHeader: options.requestIdHeader.toLowerCase() } : { requestIdHeader: false }),
    // A list, never `true`: fastify would then believe X-Forwarded-For from any peer, so anyone could pick the
    // address that rate limits and logs see.
    trustProxy: options.trustProxy ? [...(options.trustedProxies ?? DEFAULT_TRUSTED_PROXIES)] : false,
    bodyLimit: defaultLimit,
    routerOptions: { maxParamLength: 2048 },
    return503OnClosing: true,
    exposeHeadRoutes: true,
    // Errors the router raises before any route runs (bad percent-encoding, an over-long path parameter) get a
    // Matrix error body like everything else, instead of the framework's own JSON.
    frameworkErrors: (err, request, reply) => {
      if (wantsCors(pathOf(request.raw.url ?? ""))) reply.headers(CORS_HEADERS); // the onSend hook does not run here
      void sendError(request, reply, err, defaultLimit);
    },
    serverFactory: (h) => {
      handler = h;
      return createHttpServer();
    },
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  const known = options.routes.map((r) => ({ method: r.method, re: compilePath(r.path), cors: r.cors ?? (r.resource === "client" || r.resource === "public") }));
  const pathOf = (url: string): string => {
    const q = url.indexOf("?");
    return q < 0 ? url : url.slice(0, q);
  };
  const wantsCors = (path: string): boolean => CORS_PREFIXES.some((p) => path.startsWith(p)) || known.some((k) => k.cors && k.re.test(path));

  app.addHook("onSend", async (request, reply, payload) => {
    const cfg = request.routeOptions.config as RouteConfig | undefined;
    const cors = cfg?.cors ?? wantsCors(pathOf(request.url));
    if (cors) reply.headers(CORS_HEADERS);
    if (closing) reply.header("connection", "close");
    return payload;
  });

  app.addHook("onResponse", async (request, reply) => {
    request.log.info(
      { method: request.method, path: pathOf(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, remote: request.ip },
      "request",
    );
    options.onResponse?.({ method: request.method, servlet: request.routeOptions.url ?? "unmatched", status: reply.statusCode, seconds: reply.elapsedTime / 1000 });
  });

  const send = (reply: FastifyReply, status: number, value: unknown): FastifyReply =>
    // A Buffer, so the framework does not append "; charset=utf-8": JSON is UTF-8 by definition (RFC 8259).
    reply.code(status).header("content-type", "application/json").send(Buffer.from(JSON.stringify(value)));

  const sendError = (request: FastifyRequest, reply: FastifyReply, err: unknown, limit: number): FastifyReply => {
    if (err instanceof MatrixError) {
      if (err.status >= 500) request.log.error({ err }, "request failed");
      const retry = err.extra["retry_after_ms"];
      if (err.errcode === "M_LIMIT_EXCEEDED" && typeof retry === "number") reply.header("retry-after", String(Math.max(1, Math.ceil(retry / 1000))));
      return send(reply, err.status, err.toJSON());
    }
    const mapped = typeof err === "object" && err !== null && "message" in err ? fastifyErrorToMatrix(err as { message: string }, limit) : undefined;
    if (mapped) return send(reply, mapped.status, mapped.toJSON());
    request.log.error({ err }, "unhandled error");
    return send(reply, 500, { errcode: "M_UNKNOWN", error: `internal server error (request ${request.id})` });
  };

  app.setErrorHandler((err, request, reply) => {
    const limit = (request.routeOptions.bodyLimit as number | undefined) ?? defaultLimit;
    return sendError(request, reply, err, limit);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = pathOf(request.url);
    const methods: string[] = [...new Set(known.filter((k) => k.re.test(path)).map((k) => k.method))];
    if (request.method === "OPTIONS" && (methods.length > 0 || wantsCors(path))) {
      return reply.code(204).header("allow", [...methods, "OPTIONS"].join(", ")).send();
    }
    if (methods.length > 0) {
      if (methods.includes("GET")) methods.push("HEAD");
      reply.header("allow", methods.join(", "));
      return send(reply, 405, { errcode: "M_UNRECOGNIZED", error: `method ${request.method} is not allowed on ${path}` });
    }
    return send(reply, 404, { errcode: "M_UNRECOGNIZED", error: `unrecognized request: ${request.method} ${path}` });
  });

  // Streamed-body routes live in their own scope whose parser hands the request stream through unread.
  const streamed = options.routes.filter((r) => r.streamBody);
  if (streamed.length > 0) {
    void app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser("*", (_req, payload, done) => done(null, payload));
      for (const route of streamed) addRoute(scope as unknown as Pick<FastifyInstance, "route">, route);
    });
  }
  for (const route of options.routes) if (!route.streamBody) addRoute(app as unknown as Pick<FastifyInstance, "route">, route);

  function addRoute(scope: Pick<FastifyInstance, "route">, route: Route<D>): void {
    const limit = route.maxBodyBytes ?? (route.auth === "none" ? Math.min(defaultLimit, DEFAULT_UNAUTHENTICATED_MAX_BODY_BYTES) : defaultLimit);
    const config: RouteConfig = { cors: route.cors ?? (route.resource === "client" || route.resource === "public") };
    scope.route({
      method: route.method,
      url: route.path,
      bodyLimit: limit,
      config,
      handler: async (request, reply) => {
        // The client went away before the answer was written: tell the handler (long polls stop waiting).
        const aborter = new AbortController();
        const onClose = (): void => {
          if (!reply.raw.writableFinished) aborter.abort(new Error("the client closed the connection"));
        };
        reply.raw.once("close", onClose);
        try {
          const raw = request.body;
          let json: JsonValue | undefined;
          let bodyStream: BodyStream | undefined;
          if (route.streamBody) {
            const declared = Number(request.headers["content-length"] ?? 0);
            if (declared > limit) throw MatrixError.tooLarge(`request body is larger than the limit of ${limit} bytes`);
            bodyStream = limitedStream(raw instanceof Readable ? raw : Readable.from([]), limit);
          } else if (route.body !== undefined || route.auth === "x-matrix") {
            const bytes = Buffer.isBuffer(raw) ? raw : undefined;
            if (bytes && bytes.length > 0) json = parseJsonStrict(bytes, { maxBytes: limit, strictIntegers: false });
            else if (route.emptyBodyIsObject) json = {};
            else if (route.body !== undefined) throw MatrixError.notJson("the request body is empty; expected a JSON object");
          }
          const info: RequestInfo = {
            requestId: String(request.id),
            method: request.method,
            uri: request.raw.url ?? request.url,
            path: pathOf(request.url),
            headers: request.headers,
            remoteAddress: request.ip,
          };
          let origin: ServerName | undefined;
          if (route.auth === "x-matrix") {
            // headersDistinct keeps repeated headers apart (absent on injected test requests).
            const h = request.headers["authorization"];
            const authorization = request.raw.headersDistinct?.["authorization"] ?? (h === undefined ? [] : Array.isArray(h) ? h : [h]);
            try {
              ({ origin } = await federationAuth.authenticate({ method: request.method, uri: info.uri, authorization, body: json }));
              if (!originAllowed(origin)) throw MatrixError.forbidden(`federation with ${origin} is not allowed by this server's federation_domain_whitelist`);
            } catch (err) {
              // A refused signed request is logged with the reason, so an operator can see why a peer was turned away.
              if (err instanceof MatrixError) request.log.warn({ method: request.method, uri: info.uri, status: err.status, errcode: err.errcode, reason: err.message }, "federation request refused");
              throw err;
            }
          }
          let user: { userId: UserId; deviceId: string } | undefined;
          if (route.auth === "access-token") {
            const token = accessTokenOf(request.headers["authorization"], request.query);
            if (token === undefined) throw new MatrixError("M_MISSING_TOKEN", 401, "missing access token");
            const found = await accessTokens.authenticate(token);
            if (!found) throw new MatrixError("M_UNKNOWN_TOKEN", 401, "unknown or expired access token", { soft_logout: false });
            user = found;
          }
          const run = async (): Promise<RouteResult> => {
            const params = validate(route.params, request.params, "params");
            const query = validate(route.query, request.query, "query");
            if (route.bodyLimits && json !== undefined) route.bodyLimits(json);
            const body = route.body ? validate(route.body, json, "body") : undefined;
            const log = origin ? request.log.child({ origin }) : request.log;
            return route.handle({ params, query, body, origin, user, request: info, log, signal: aborter.signal, bodyStream }, options.deps);
          };
          const limiter = origin !== undefined && !route.ownFederationRateLimit ? options.federationRateLimiter : undefined;
          const result: RouteResult = limiter
            ? await limiter.run(origin!, async () => {
                // As Synapse: a request whose sender gave up while it waited for its turn is not processed.
                if (aborter.signal.aborted) throw new MatrixError("M_UNKNOWN", 408, "the client closed the connection before the request's turn under rc_federation");
                return run();
              })
            : await run();
          if (result instanceof HttpResponse) {
            reply.code(result.status).headers(result.headers);
            if (result.body.kind === "json") return send(reply, result.status, result.body.value);
            if (result.body.kind === "text") return reply.header("content-type", result.body.contentType).send(result.body.value);
            if (result.body.kind === "stream") return reply.header("content-type", result.body.contentType).send(Readable.from(result.body.value));
            if (result.body.kind === "bytes") return reply.header("content-type", result.body.contentType).send(Buffer.from(result.body.value.buffer, result.body.value.byteOffset, result.body.value.byteLength));
            return reply.send();
          }
          return send(reply, 200, result);
        } catch (err) {
          // The rest of a refused streamed body is not read: close the connection rather than drain it.
          if (route.streamBody && !request.raw.readableEnded) reply.header("connection", "close");
          return sendError(request, reply, err, limit);
        } finally {
          reply.raw.removeListener("close", onClose);
          if (!reply.raw.writableFinished) reply.raw.once("close", onClose); // a streamed response may still be writing
        }
      },
    });
  }

  const readyPromise = app.ready();

  /**
   * Requests in progress per connection, for the stop: Node's closeIdleConnections() leaves a connection that has
   * not sent a request yet (undici opens one after an aborted fetch and keeps it for its 4 s keep-alive), so
   * close() ends those itself.
   */
  const sockets = new Map<Socket, number>();
  const track = (socket: Socket): void => {
    sockets.set(socket, 0);
    socket.once("close", () => sockets.delete(socket));
  };
  const requestListener = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight++;
    const socket = req.socket;
    if (sockets.has(socket)) sockets.set(socket, sockets.get(socket)! + 1);
    let done = false;
    const finish = (): void => {
      if (!done) {
        done = true;
        inFlight--;
        const n = sockets.get(socket);
        if (n !== undefined) sockets.set(socket, n - 1);
      }
    };
    res.once("finish", finish);
    res.once("close", finish);
    handler!(req, res);
  };

  return {
    bound,
    inFlight: () => inFlight,
    async listen(opts: ListenOptions): Promise<BoundAddress> {
      await readyPromise;
      const server: Server = opts.tls ? (createHttpsServer(opts.tls, requestListener) as unknown as Server) : createHttpServer(requestListener);
      server.keepAliveTimeout = 30_000;
      server.on("clientError", onClientError);
      server.on(opts.tls ? "secureConnection" : "connection", track);
      await new Promise<void>((resolve, reject) => {
        const onError = (e: Error): void => reject(e);
        server.once("error", onError);
        server.listen({ host: opts.host, port: opts.port, ipv6Only: false }, () => {
          server.removeListener("error", onError);
          resolve();
        });
      });
      server.on("error", (e) => options.logger.error({ err: e }, "listener error"));
      const addr = server.address() as AddressInfo;
      const b: BoundAddress = { host: addr.address, port: addr.port, tls: opts.tls !== undefined, server };
      bound.push(b);
      return b;
    },
    async close(closeOptions: { graceMs?: number } = {}): Promise<void> {
      if (closing) return;
      closing = true;
      const graceMs = closeOptions.graceMs ?? 30_000;
      const closed = bound.map(
        (b) =>
          new Promise<void>((resolve) => {
            b.server.close(() => resolve());
            b.server.closeIdleConnections();
          }),
      );
      const deadline = Date.now() + graceMs;
      const sweep = setInterval(() => {
        for (const b of bound) {
          if (Date.now() > deadline) b.server.closeAllConnections();
          else b.server.closeIdleConnections();
        }
        for (const [socket, requests] of sockets) if (requests === 0) socket.destroy();
      }, 50);
      try {
        await Promise.all(closed);
      } finally {
        clearInterval(sweep);
      }
      await app.close();
    },
    async inject(req) {
      await readyPromise;
      const r = await app.inject({
        method: req.method as "GET",
        url: req.url,
        ...(req.headers ? { headers: req.headers } : {}),
        ...(req.body !== undefined ? { payload: req.body } : {}),
      });
      return { statusCode: r.statusCode, headers: r.headers, body: r.body };
    },
  };
}
