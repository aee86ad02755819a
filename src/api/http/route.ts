/**
 * Declarative routes (STYLE C5): one object per endpoint with its method,
 * path, authentication, schemas and limits beside the handler. Handlers get
 * a typed slice of dependencies and never see the HTTP framework.
 *
 *   export const queryProfile = defineFederationRoute({
 *     method: "GET", path: "/_matrix/federation/v1/query/profile", auth: "x-matrix",
 *     query: z.object({ user_id: z.string(), field: z.string().optional() }),
 *     async handle({ origin, query }, { profiles }: Pick<Deps, "profiles">) { ... },
 *   });
 */
import type { ZodType } from "zod";
import type { ServerName, UserId } from "../../core/ids/index.js";
import type { JsonValue } from "../../core/json/types.js";

export type HttpMethod = "GET" | "PUT" | "POST" | "DELETE" | "PATCH";

/**
 * Which listener resource (Synapse's `resources: [{names: [...]}]`) serves a route:
 * "public" routes (/health, /.well-known) are served on every http listener.
 */
export type RouteResource = "client" | "federation" | "keys" | "media" | "public" | "metrics";

/** none: anyone; x-matrix: a signed server request (origin verified before handle); access-token: a local user. */
export type RouteAuth = "none" | "x-matrix" | "access-token";

export interface RequestInfo {
  readonly requestId: string;
  readonly method: string;
  /** The raw request target: path and query exactly as received (what X-Matrix signs). */
  readonly uri: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The client's address (the X-Forwarded-For one on an x_forwarded listener). */
  readonly remoteAddress: string;
}

export interface RouteLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** The local user an access token belongs to (access-token routes). */
export interface AuthenticatedUser {
  readonly userId: UserId;
  readonly deviceId: string;
}

export interface HandlerInput<P, Q, B, A extends RouteAuth> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** The verified requesting server (x-matrix routes only). */
  readonly origin: A extends "x-matrix" ? ServerName : undefined;
  /** The user of the access token (access-token routes only). */
  readonly user: A extends "access-token" ? AuthenticatedUser : undefined;
  readonly request: RequestInfo;
  readonly log: RouteLog;
  /**
   * Aborted when the client goes away before the response is sent (its socket closed), so a long-polling handler
   * stops waiting and a slow one can stop working. Never aborted once the response has been written.
   */
  readonly signal: AbortSignal;
  /** The request body as it arrives (routes with `streamBody: true` only). */
  readonly bodyStream: BodyStream | undefined;
}

/** A request body read as it arrives (routes with `streamBody: true`), cut off with 413 M_TOO_LARGE past the limit. */
export type BodyStream = AsyncIterable<Buffer>;

/** A response other than "200 with this JSON": a status, JSON or text, extra headers. */
export class HttpResponse {
  private constructor(
    readonly status: number,
    readonly body:
      | { kind: "json"; value: unknown }
      | { kind: "text"; value: string; contentType: string }
      | { kind: "stream"; value: AsyncIterable<Uint8Array>; contentType: string }
      | { kind: "bytes"; value: Uint8Array; contentType: string }
      | { kind: "empty" },
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}

  static json(status: number, value: unknown, headers: Record<string, string> = {}): HttpResponse {
    return new HttpResponse(status, { kind: "json", value }, headers);
  }
  static text(status: number, value: string, contentType = "text/plain; charset=utf-8", headers: Record<string, string> = {}): HttpResponse {
    return new HttpResponse(status, { kind: "text", value, contentType }, headers);
  }
  /** A body written as the iterable yields it (a file, a proxied download); the connection is closed early if it throws. */
  static stream(status: number, value: AsyncIterable<Uint8Array>, contentType: string, headers: Record<string, string> = {}): HttpResponse {
    return new HttpResponse(status, { kind: "stream", value, contentType }, headers);
  }
  /** A binary body sent as it is (static files: fonts, wasm, images), with its own Content-Type. */
  static bytes(status: number, value: Uint8Array, contentType: string, headers: Record<string, string> = {}): HttpResponse {
    return new HttpResponse(status, { kind: "bytes", value, contentType }, headers);
  }
  static empty(status: number, headers: Record<string, string> = {}): HttpResponse {
    return new HttpResponse(status, { kind: "empty" }, headers);
  }
}

/** What a handler may return: a JSON value (sent with 200) or an HttpResponse. */
export type RouteResult = JsonValue | Readonly<Record<string, unknown>> | HttpResponse;

export interface RouteSpec<P, Q, B, A extends RouteAuth, D> {
  readonly method: HttpMethod;
  /** Path with `:name` parameters, e.g. /_matrix/federation/v1/send/:txnId. */
  readonly path: string;
  readonly auth: A;
  readonly resource: RouteResource;
  /** Validates the decoded path parameters (failure: 400 M_INVALID_PARAM). */
  readonly params?: ZodType<P>;
  /** Validates the query string (failure: 400 M_INVALID_PARAM). */
  readonly query?: ZodType<Q>;
  /** The body must be JSON and match (not JSON: M_NOT_JSON; mismatch: M_BAD_JSON). Without it the body is ignored. */
  readonly body?: ZodType<B>;
  /** An empty body counts as `{}` (user-interactive auth endpoints, whose first request may carry nothing). */
  readonly emptyBodyIsObject?: boolean;
  /**
   * Hand the handler the raw body as `bodyStream` instead of parsed JSON (uploads); `body` must then be absent.
   * The limit (maxBodyBytes) still applies: a larger Content-Length is refused before the handler runs, and a body
   * that grows past it fails the stream with 413 M_TOO_LARGE.
   */
  readonly streamBody?: boolean;
  /**
   * Largest accepted body in bytes (default: the server's limit, 1 MiB unless configured; for `auth: "none"` routes
   * at most DEFAULT_UNAUTHENTICATED_MAX_BODY_BYTES, 64 KiB).
   */
  readonly maxBodyBytes?: number;
  /**
   * Count limits on the parsed body, run before the schema so that a body of many small entries is refused in one
   * cheap pass (throw MatrixError, e.g. M_TOO_LARGE naming the limit).
   */
  readonly bodyLimits?: (json: JsonValue) => void;
  /** Add CORS headers (default: true for client and public routes, false otherwise). */
  readonly cors?: boolean;
  readonly rateLimited?: boolean;
  /**
   * x-matrix routes: the handler applies rc_federation itself (PUT /send, after its cheap checks and around the
   * transaction gate), so the HTTP layer's per-origin limiter (HttpAppOptions.federationRateLimiter) leaves it out.
   */
  readonly ownFederationRateLimit?: boolean;
  handle(input: HandlerInput<P, Q, B, A>, deps: D): Promise<RouteResult> | RouteResult;
}

/** A route with its types erased, as the server holds it. */
export interface Route<D = unknown> {
  readonly method: HttpMethod;
  readonly path: string;
  readonly auth: RouteAuth;
  readonly resource: RouteResource;
  readonly params?: ZodType<unknown>;
  readonly query?: ZodType<unknown>;
  readonly body?: ZodType<unknown>;
  readonly emptyBodyIsObject?: boolean;
  readonly streamBody?: boolean;
  readonly maxBodyBytes?: number;
  readonly bodyLimits?: (json: JsonValue) => void;
  readonly cors?: boolean;
  readonly rateLimited?: boolean;
  readonly ownFederationRateLimit?: boolean;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the typed input is checked at the definition site
  handle(input: HandlerInput<any, any, any, RouteAuth>, deps: D): Promise<RouteResult> | RouteResult;
}

type Defaults = Record<string, string>;

export function defineRoute<P = Defaults, Q = Defaults, B = undefined, A extends RouteAuth = "none", D = unknown>(
  spec: RouteSpec<P, Q, B, A, D>,
): Route<D> {
  return spec as unknown as Route<D>;
}

/** A /_matrix/federation or /_matrix/key route; `auth` defaults to nothing, so say "x-matrix" where it applies. */
export function defineFederationRoute<P = Defaults, Q = Defaults, B = undefined, A extends RouteAuth = "x-matrix", D = unknown>(
  spec: Omit<RouteSpec<P, Q, B, A, D>, "resource"> & { resource?: "federation" | "keys" },
): Route<D> {
  return { ...spec, resource: spec.resource ?? "federation" } as unknown as Route<D>;
}

/** A /_matrix/client route: CORS on, resource "client". */
export function defineClientRoute<P = Defaults, Q = Defaults, B = undefined, A extends RouteAuth = "access-token", D = unknown>(
  spec: Omit<RouteSpec<P, Q, B, A, D>, "resource">,
): Route<D> {
  return { ...spec, resource: "client" } as unknown as Route<D>;
}
