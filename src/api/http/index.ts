/** The HTTP layer: declarative routes, validation, error rendering, listeners. The only fastify importer. */
export { defineRoute, defineFederationRoute, defineClientRoute, HttpResponse } from "./route.js";
export type { Route, RouteSpec, RouteAuth, RouteResource, RouteResult, HttpMethod, HandlerInput, RequestInfo, RouteLog, AuthenticatedUser, BodyStream } from "./route.js";
export { createHttpApp, CORS_HEADERS, DEFAULT_MAX_BODY_BYTES, DEFAULT_TRUSTED_PROXIES, DEFAULT_UNAUTHENTICATED_MAX_BODY_BYTES } from "./server.js";
export type { HttpApp, HttpAppOptions, ListenOptions, BoundAddress, InjectResult } from "./server.js";
export { refuseAllFederationAuth, refuseAllAccessTokens, whitelistPolicy } from "./federation-auth.js";
export type { FederationAuth, FederationAuthRequest, FederationOriginPolicy, FederationRequestLimiter, AccessTokenAuth } from "./federation-auth.js";
export { createRateLimits, unlimited } from "./rate-limit.js";
export type { RateLimits, RateLimitName, RateLimitConfig, RateLimitSettings } from "./rate-limit.js";
