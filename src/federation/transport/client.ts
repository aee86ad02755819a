/**
 * Outbound federation requests: one typed method per endpoint Zion needs, over server-name resolution
 * (discovery/), checked TLS (tls/) and X-Matrix signing (x-matrix.ts).
 *
 * For every request:
 * 1. federation_enabled must be true, and the destination must be in federation_domain_whitelist when one is set.
 * 2. Resolve the destination (cached); the Host header and certificate name come from the resolution.
 * 3. Sign with our key (except the key endpoints, which are unauthenticated): the uri signed is the exact path and
 *    query sent, the destination the server name before delegation.
 * 4. Send to the resolved addresses in order; parse the JSON answer with the strict parser (core/json: the
 *    response size cap, nesting depth, valid UTF-8 and Unicode; numbers as any JSON allows, since events of room
 *    versions 1-5 may carry floats and the caller judges them by room version); non-2xx becomes a FederationError
 *    carrying the status and the remote errcode.
 */
import type { SigningKey } from "../../core/crypto/index.js";
import type { Pdu } from "../../core/events/pdu.js";
import type { EventId, RoomAlias, RoomId, ServerName, UserId } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import type { RoomVersionRules } from "../../core/room-versions/index.js";
import { parseJsonStrict } from "../../core/json/parse.js";
import { multipartBoundary, parseMultipart } from "../../core/media/index.js";
import type { JsonValue } from "../../core/json/types.js";
import { noMetrics, type Counter, type Metrics } from "../../core/metrics.js";
import type { ServerResolver } from "../discovery/resolve.js";
import type { HttpsClient } from "../tls/https-client.js";
import { HttpsRequestError } from "../tls/https-client.js";
import { NO_TRACE, type Trace } from "../trace.js";
import type { KeyFetchClient } from "../keys/key-ring.js";
import { signRequest } from "./x-matrix.js";
import {
  ResponseShapeError, arrayAt, eventIdsAt, eventTemplate, integerAt, objectAt, objectsAt, optionalStringAt, pdusAt, stringAt,
} from "./responses.js";

export type FederationErrorKind = "disabled" | "not-whitelisted" | "resolve" | "connect" | "timeout" | "too-large" | "http" | "bad-response";

export class FederationError extends Error {
  constructor(
    readonly kind: FederationErrorKind,
    readonly destination: string,
    message: string,
    readonly status?: number,
    readonly errcode?: string,
  ) {
    super(message);
    this.name = "FederationError";
  }
}

export interface FederationClientOptions {
  readonly serverName: ServerName;
  readonly signingKey: SigningKey;
  readonly resolver: ServerResolver;
  readonly https: HttpsClient;
  readonly federationEnabled?: boolean;
  /** federation_domain_whitelist: absent means every server. */
  readonly domainWhitelist?: readonly string[];
  readonly timeoutMs?: number;
  readonly maxResponseBytes?: number;
  /** Counts requests sent and responses by status (Synapse's synapse_http_matrixfederationclient_* names). */
  readonly metrics?: Metrics;
}

/** The response cap when neither the request nor the client sets one (the HTTPS client's own default). */
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export interface FederationRequest {
  readonly destination: ServerName | string;
  readonly method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path without query, starting with "/_matrix/"; parameters already encoded. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** A query string sent exactly as given (without '?'), instead of `query`. */
  readonly rawQuery?: string;
  readonly body?: JsonValue;
  /** Sign with X-Matrix (default true). */
  readonly signed?: boolean;
  readonly trace?: Trace;
  readonly timeoutMs?: number;
  readonly maxResponseBytes?: number;
}

export interface FederationResponse {
  readonly status: number;
  readonly body: unknown;
  /** "ip:port" that answered. */
  readonly address: string;
}

export interface FederationRawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
  readonly address: string;
}

export class FederationClient implements KeyFetchClient {
  private readonly whitelist: ReadonlySet<string> | undefined;
  private readonly sent: Counter<"method">;
  private readonly answered: Counter<"method" | "code">;
  private readonly failed: Counter<"method" | "kind">;

  constructor(private readonly opts: FederationClientOptions) {
    const m = opts.metrics ?? noMetrics;
    this.sent = m.counter({ name: "synapse_http_matrixfederationclient_requests", help: "Outbound federation requests sent, by method", labels: ["method"] });
    this.answered = m.counter({ name: "synapse_http_matrixfederationclient_responses", help: "Outbound federation responses received, by method and status code", labels: ["method", "code"] });
    this.failed = m.counter({ name: "zion_federation_client_failures", help: "Outbound federation requests that got no answer, by method and reason", labels: ["method", "kind"] });
    this.whitelist = opts.domainWhitelist ? new Set(opts.domainWhitelist.map((d) => d.toLowerCase())) : undefined;
  }

  get serverName(): ServerName {
    return this.opts.serverName;
  }

  /** Step 1 alone, for callers that want to know before queueing work. */
  mayContact(destination: string): { ok: true } | { ok: false; reason: string } {
    if (this.opts.federationEnabled === false) return { ok: false, reason: "federation is disabled (federation_enabled: false)" };
    if (this.whitelist && !this.whitelist.has(destination.toLowerCase())) {
      return { ok: false, reason: `${destination} is not in federation_domain_whitelist` };
    }
    return { ok: true };
  }

  /** Steps 1-4 without reading the answer as JSON: the status, headers and bytes (media downloads). */
  async requestRaw(r: FederationRequest & { readonly accept?: string }): Promise<FederationRawResponse> {
    const dest = r.destination;
    const trace = r.trace ?? NO_TRACE;
    // Step 1.
    const may = this.mayContact(dest);
    if (!may.ok) {
      trace.step({ check: "policy.whitelist", ok: false, detail: may.reason, fix: "Add the server name to federation_domain_whitelist, or remove the whitelist." });
      throw new FederationError(this.opts.federationEnabled === false ? "disabled" : "not-whitelisted", dest, may.reason);
    }
    // Step 2.
    const res = await this.opts.resolver.resolve(dest, r.trace ? { trace } : {});
    if (!res.ok) this.failed.inc({ method: r.method, kind: "resolve" });
    if (!res.ok) throw new FederationError("resolve", dest, `cannot resolve ${dest}: ${res.reason}`);
    const target = res.resolution;
    // Step 3.
    const qs = r.rawQuery !== undefined ? (r.rawQuery ? `?${r.rawQuery}` : "") : r.query ? queryString(r.query) : "";
    const uri = `${r.path}${qs}`;
    const headers: Record<string, string> = { accept: r.accept ?? "application/json", "user-agent": "Zion" };
    let body: string | undefined;
    if (r.body !== undefined) {
      body = JSON.stringify(r.body);
      headers["content-type"] = "application/json";
    }
    if (r.signed !== false) {
      headers["authorization"] = signRequest(
        { method: r.method, uri, origin: this.opts.serverName, destination: dest, ...(r.body !== undefined ? { content: r.body } : {}) },
        this.opts.signingKey,
      );
    }
    // Step 4.
    let out;
    this.sent.inc({ method: r.method });
    try {
      out = await this.opts.https.request({
        targets: target.targets, tlsName: target.tlsName, hostHeader: target.hostHeader, method: r.method, path: uri, headers,
        ...(body !== undefined ? { body } : {}),
        ...(r.timeoutMs ?? this.opts.timeoutMs ? { timeoutMs: (r.timeoutMs ?? this.opts.timeoutMs)! } : {}),
        ...(r.maxResponseBytes ?? this.opts.maxResponseBytes ? { maxResponseBytes: (r.maxResponseBytes ?? this.opts.maxResponseBytes)! } : {}),
        ...(r.trace ? { trace } : {}),
      });
    } catch (e) {
      if (e instanceof HttpsRequestError) {
        const kind = e.kind === "protocol" ? "connect" : e.kind;
        this.failed.inc({ method: r.method, kind });
        throw new FederationError(kind, dest, `${r.method} ${r.path} to ${dest}: ${e.message}`);
      }
      this.failed.inc({ method: r.method, kind: "other" });
      throw e;
    }
    this.answered.inc({ method: r.method, code: out.status });
    return { status: out.status, headers: out.headers, body: out.body, address: out.address };
  }

  async request(r: FederationRequest): Promise<FederationResponse> {
    const dest = r.destination;
    const out = await this.requestRaw(r);
    let parsed: unknown;
    try {
      const maxBytes = r.maxResponseBytes ?? this.opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
      parsed = out.body.length === 0 ? undefined : parseJsonStrict(out.body, { maxBytes, strictIntegers: false });
    } catch (e) {
      if (out.status >= 200 && out.status < 300) {
        throw new FederationError("bad-response", dest, `${r.method} ${r.path} to ${dest}: the answer is not acceptable JSON: ${(e as Error).message}`, out.status);
      }
    }
    if (out.status < 200 || out.status >= 300) {
      const errcode = typeof (parsed as { errcode?: unknown })?.errcode === "string" ? (parsed as { errcode: string }).errcode : undefined;
      const error = typeof (parsed as { error?: unknown })?.error === "string" ? (parsed as { error: string }).error : undefined;
      throw new FederationError("http", dest, `${r.method} ${r.path} to ${dest} answered ${out.status}${errcode ? ` ${errcode}` : ""}${error ? `: ${error}` : ""}`, out.status, errcode);
    }
    return { status: out.status, body: parsed, address: out.address };
  }

  /**
   * GET /_matrix/federation/v1/media/download/{mediaId} (signed): the media part of the multipart/mixed answer.
   * A Location part (the bytes are elsewhere) is returned as `location` for the caller to fetch under its policy.
   * An M_UNRECOGNIZED / 404 answer from a server without the endpoint throws a FederationError with that status.
   */
  async downloadMedia(destination: ServerName, mediaId: string, opts: { maxBytes: number; timeoutMs?: number }): Promise<FederationMedia> {
    const out = await this.requestRaw({
      destination, method: "GET", path: `/_matrix/federation/v1/media/download/${encodeURIComponent(mediaId)}`,
      accept: "multipart/mixed", maxResponseBytes: opts.maxBytes + 64 * 1024, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
    throwUnlessOk(destination, "media/download", out);
    const boundary = multipartBoundary(headerOf(out.headers, "content-type"));
    if (!boundary) throw new FederationError("bad-response", destination, `media/download from ${destination}: not multipart/mixed`, out.status);
    let parts;
    try {
      parts = parseMultipart(out.body, boundary);
    } catch (e) {
      throw new FederationError("bad-response", destination, `media/download from ${destination}: ${(e as Error).message}`, out.status);
    }
    const media = parts[1];
    if (parts.length !== 2 || !media) throw new FederationError("bad-response", destination, `media/download from ${destination}: expected 2 parts, got ${parts.length}`, out.status);
    const location = media.headers["location"];
    if (location !== undefined) return { kind: "location", location };
    return { kind: "bytes", contentType: media.headers["content-type"], contentDisposition: media.headers["content-disposition"], body: media.body };
  }

  /** The legacy GET /_matrix/media/v3/download/{server}/{mediaId} (unsigned), for servers without authenticated media. */
  async downloadMediaLegacy(destination: ServerName, mediaId: string, opts: { maxBytes: number; timeoutMs?: number }): Promise<FederationMedia> {
    const out = await this.requestRaw({
      destination, method: "GET", signed: false, accept: "*/*",
      path: `/_matrix/media/v3/download/${encodeURIComponent(destination)}/${encodeURIComponent(mediaId)}`, query: { allow_remote: "false", allow_redirect: "true" },
      maxResponseBytes: opts.maxBytes, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
    const location = headerOf(out.headers, "location");
    if (out.status >= 300 && out.status < 400 && location) return { kind: "location", location };
    throwUnlessOk(destination, "media/v3/download", out);
    return { kind: "bytes", contentType: headerOf(out.headers, "content-type"), contentDisposition: headerOf(out.headers, "content-disposition"), body: out.body };
  }

  /** GET /_matrix/key/v2/server (unauthenticated). */
  async fetchServerKeys(destination: ServerName, opts: { trace?: Trace; timeoutMs?: number } = {}): Promise<unknown> {
    return (await this.request({ destination, method: "GET", path: "/_matrix/key/v2/server", signed: false, maxResponseBytes: 1024 * 1024, ...opts })).body;
  }

  /** POST /_matrix/key/v2/query to a notary (unauthenticated). */
  async queryKeysViaNotary(
    notary: ServerName,
    serverKeys: Readonly<Record<string, Readonly<Record<string, { minimum_valid_until_ts?: number }>>>>,
    opts: { trace?: Trace; timeoutMs?: number } = {},
  ): Promise<unknown> {
    return (await this.request({
      destination: notary, method: "POST", path: "/_matrix/key/v2/query", body: { server_keys: serverKeys as JsonValue }, signed: false,
      maxResponseBytes: 4 * 1024 * 1024, ...opts,
    })).body;
  }

  /** GET /_matrix/key/v2/query/{serverName} on a notary (unauthenticated). */
  async getKeysViaNotary(notary: ServerName, server: ServerName, minimumValidUntilTs?: number, opts: { trace?: Trace } = {}): Promise<unknown> {
    return (await this.request({
      destination: notary, method: "GET", path: `/_matrix/key/v2/query/${encodeURIComponent(server)}`, signed: false,
      ...(minimumValidUntilTs !== undefined ? { query: { minimum_valid_until_ts: String(minimumValidUntilTs) } } : {}),
      ...opts,
    })).body;
  }

  /** GET /_matrix/federation/v1/version (unauthenticated). */
  async getVersion(destination: ServerName, opts: { trace?: Trace } = {}): Promise<{ server?: { name?: string; version?: string } }> {
    return (await this.request({ destination, method: "GET", path: "/_matrix/federation/v1/version", signed: false, ...opts })).body as {
      server?: { name?: string; version?: string };
    };
  }

  /**
   * PUT /_matrix/federation/v1/send/{txnId} (signed): https://spec.matrix.org/v1.16/server-server-api/#put_matrixfederationv1sendtxnid
   * Answers the per-PDU results (`pdus`: event id -> {} or {error}); a non-2xx answer is a FederationError.
   */
  async sendTransaction(
    destination: ServerName,
    txn: { readonly txnId: string; readonly originServerTs: number; readonly pdus: readonly JsonValue[]; readonly edus: readonly JsonValue[] },
    opts: { trace?: Trace; timeoutMs?: number } = {},
  ): Promise<{ pdus: Record<string, { error?: string }> }> {
    const body: JsonValue = { origin: this.opts.serverName, origin_server_ts: txn.originServerTs, pdus: [...txn.pdus], ...(txn.edus.length > 0 ? { edus: [...txn.edus] } : {}) };
    const out = await this.request({ destination, method: "PUT", path: `/_matrix/federation/v1/send/${encodeURIComponent(txn.txnId)}`, body, ...opts });
    const pdus = (out.body as { pdus?: unknown } | undefined)?.pdus;
    return { pdus: pdus !== null && typeof pdus === "object" && !Array.isArray(pdus) ? (pdus as Record<string, { error?: string }>) : {} };
  }

  /** GET /_matrix/federation/v1/query/profile (signed). */
  async queryProfile(destination: ServerName, userId: UserId, field?: "displayname" | "avatar_url", opts: { trace?: Trace } = {}): Promise<{ displayname?: string; avatar_url?: string }> {
    return (await this.request({
      destination, method: "GET", path: "/_matrix/federation/v1/query/profile",
      query: { user_id: userId, ...(field ? { field } : {}) }, ...opts,
    })).body as { displayname?: string; avatar_url?: string };
  }

  /** Runs `check` over a response body; a ResponseShapeError becomes FederationError "bad-response". */
  private async typed<T>(r: FederationRequest, check: (body: unknown) => T): Promise<T> {
    const res = await this.request(r);
    try {
      return check(res.body);
    } catch (e) {
      if (e instanceof ResponseShapeError) throw new FederationError("bad-response", r.destination, `${r.method} ${r.path} to ${r.destination}: malformed answer: ${e.message}`, res.status);
      throw e;
    }
  }

  /** GET /_matrix/federation/v1/event/{eventId}: the one PDU, which must be the event asked for. */
  async getEvent(destination: ServerName, eventId: EventId, rules: RoomVersionRules, opts: { trace?: Trace } = {}): Promise<Pdu> {
    return this.typed({ destination, method: "GET", path: `/_matrix/federation/v1/event/${encodeURIComponent(eventId)}`, ...opts }, (b) => {
      const pdus = pdusAt(objectAt(b, "(response)"), "pdus", rules);
      if (pdus.length !== 1) throw new ResponseShapeError("pdus", `must hold exactly one event, holds ${pdus.length}`);
      if (pdus[0]!.eventId !== eventId) throw new ResponseShapeError("pdus[0]", `is ${pdus[0]!.eventId}, not ${eventId}`);
      return pdus[0]!;
    });
  }

  /** GET /_matrix/federation/v1/state/{roomId}?event_id=: the state before the event and its auth chain. */
  async getState(destination: ServerName, roomId: RoomId, eventId: EventId, rules: RoomVersionRules, opts: { trace?: Trace } = {}): Promise<{ pdus: Pdu[]; authChain: Pdu[] }> {
    return this.typed({ destination, method: "GET", path: `/_matrix/federation/v1/state/${encodeURIComponent(roomId)}`, query: { event_id: eventId }, ...opts }, (b) => {
      const o = objectAt(b, "(response)");
      return { pdus: pdusAt(o, "pdus", rules, roomId), authChain: pdusAt(o, "auth_chain", rules, roomId) };
    });
  }

  /** GET /_matrix/federation/v1/state_ids/{roomId}?event_id=. */
  async getStateIds(destination: ServerName, roomId: RoomId, eventId: EventId, opts: { trace?: Trace } = {}): Promise<{ pduIds: EventId[]; authChainIds: EventId[] }> {
    return this.typed({ destination, method: "GET", path: `/_matrix/federation/v1/state_ids/${encodeURIComponent(roomId)}`, query: { event_id: eventId }, ...opts }, (b) => {
      const o = objectAt(b, "(response)");
      return { pduIds: eventIdsAt(o, "pdu_ids"), authChainIds: eventIdsAt(o, "auth_chain_ids") };
    });
  }

  /** GET /_matrix/federation/v1/event_auth/{roomId}/{eventId}. */
  async getEventAuth(destination: ServerName, roomId: RoomId, eventId: EventId, rules: RoomVersionRules, opts: { trace?: Trace } = {}): Promise<Pdu[]> {
    return this.typed({ destination, method: "GET", path: `/_matrix/federation/v1/event_auth/${encodeURIComponent(roomId)}/${encodeURIComponent(eventId)}`, ...opts },
      (b) => pdusAt(objectAt(b, "(response)"), "auth_chain", rules, roomId));
  }

  /** GET /_matrix/federation/v1/backfill/{roomId}?v=&limit=: at most `limit` PDUs are accepted. */
  async backfill(destination: ServerName, roomId: RoomId, from: readonly EventId[], limit: number, rules: RoomVersionRules, opts: { trace?: Trace; timeoutMs?: number } = {}): Promise<Pdu[]> {
    return this.typed({ destination, method: "GET", path: `/_matrix/federation/v1/backfill/${encodeURIComponent(roomId)}`, query: { v: from, limit: String(limit) }, ...opts }, (b) => {
      const pdus = pdusAt(objectAt(b, "(response)"), "pdus", rules, roomId);
      if (pdus.length > limit) throw new ResponseShapeError("pdus", `holds ${pdus.length} events, more than the limit of ${limit} asked for`);
      return pdus;
    });
  }

  /** POST /_matrix/federation/v1/get_missing_events/{roomId}: at most `limit` PDUs are accepted. */
  async getMissingEvents(
    destination: ServerName, roomId: RoomId,
    q: { readonly earliestEvents: readonly EventId[]; readonly latestEvents: readonly EventId[]; readonly limit: number; readonly minDepth?: number },
    rules: RoomVersionRules, opts: { trace?: Trace } = {},
  ): Promise<Pdu[]> {
    const body: JsonObject = { earliest_events: [...q.earliestEvents], latest_events: [...q.latestEvents], limit: q.limit, ...(q.minDepth !== undefined ? { min_depth: q.minDepth } : {}) };
    return this.typed({ destination, method: "POST", path: `/_matrix/federation/v1/get_missing_events/${encodeURIComponent(roomId)}`, body, ...opts }, (b) => {
      const pdus = pdusAt(objectAt(b, "(response)"), "events", rules, roomId);
      if (pdus.length > q.limit) throw new ResponseShapeError("events", `holds ${pdus.length} events, more than the limit of ${q.limit} asked for`);
      return pdus;
    });
  }

  /** GET /_matrix/federation/v1/timestamp_to_event/{roomId}?ts=&dir=. */
  async timestampToEvent(destination: ServerName, roomId: RoomId, ts: number, dir: "f" | "b", opts: { trace?: Trace } = {}): Promise<{ eventId: EventId; originServerTs: number }> {
    return this.typed({ destination, method: "GET", path: `/_matrix/federation/v1/timestamp_to_event/${encodeURIComponent(roomId)}`, query: { ts: String(ts), dir }, ...opts }, (b) => {
      const o = objectAt(b, "(response)");
      const eventId = stringAt(o, "event_id");
      if (!eventId.startsWith("$")) throw new ResponseShapeError("event_id", "must be an event id");
      return { eventId: eventId as EventId, originServerTs: integerAt(o, "origin_server_ts") };
    });
  }

  /** GET /_matrix/federation/v1/query/directory?room_alias=. */
  async queryDirectory(destination: ServerName, alias: RoomAlias, opts: { trace?: Trace } = {}): Promise<{ roomId: RoomId; servers: ServerName[] }> {
    return this.typed({ destination, method: "GET", path: "/_matrix/federation/v1/query/directory", query: { room_alias: alias }, ...opts }, (b) => {
      const o = objectAt(b, "(response)");
      const roomId = stringAt(o, "room_id");
      if (!roomId.startsWith("!")) throw new ResponseShapeError("room_id", "must be a room id");
      const servers = arrayAt(o, "servers").map((s, i) => {
        if (typeof s !== "string") throw new ResponseShapeError(`servers[${i}]`, "must be a server name");
        return s as ServerName;
      });
      return { roomId: roomId as RoomId, servers };
    });
  }

  /** GET (no filter) or POST (with a filter) /_matrix/federation/v1/publicRooms. */
  async publicRooms(
    destination: ServerName,
    q: { readonly limit?: number; readonly since?: string; readonly genericSearchTerm?: string; readonly thirdPartyInstanceId?: string } = {},
    opts: { trace?: Trace } = {},
  ): Promise<{ chunk: JsonObject[]; nextBatch?: string; prevBatch?: string; totalRoomCountEstimate?: number }> {
    const path = "/_matrix/federation/v1/publicRooms";
    const r: FederationRequest = q.genericSearchTerm !== undefined
      ? { destination, method: "POST", path, body: { ...(q.limit !== undefined ? { limit: q.limit } : {}), ...(q.since !== undefined ? { since: q.since } : {}), filter: { generic_search_term: q.genericSearchTerm }, ...(q.thirdPartyInstanceId !== undefined ? { third_party_instance_id: q.thirdPartyInstanceId } : {}) }, ...opts }
      : { destination, method: "GET", path, query: { limit: q.limit !== undefined ? String(q.limit) : undefined, since: q.since, third_party_instance_id: q.thirdPartyInstanceId }, ...opts };
    return this.typed(r, (b) => {
      const o = objectAt(b, "(response)");
      const chunk = objectsAt(o, "chunk");
      chunk.forEach((c, i) => {
        if (typeof c["room_id"] !== "string") throw new ResponseShapeError(`chunk[${i}].room_id`, "must be a string");
        if (typeof c["num_joined_members"] !== "number") throw new ResponseShapeError(`chunk[${i}].num_joined_members`, "must be a number");
      });
      const nextBatch = optionalStringAt(o, "next_batch");
      const prevBatch = optionalStringAt(o, "prev_batch");
      const total = o["total_room_count_estimate"] === undefined ? undefined : integerAt(o, "total_room_count_estimate");
      return { chunk, ...(nextBatch !== undefined ? { nextBatch } : {}), ...(prevBatch !== undefined ? { prevBatch } : {}), ...(total !== undefined ? { totalRoomCountEstimate: total } : {}) };
    });
  }

  /** GET /_matrix/federation/v1/make_join/{roomId}/{userId}?ver=...: the template and its room version (required by the spec). */
  async makeJoin(destination: ServerName, roomId: RoomId, userId: UserId, supportedVersions: readonly string[], opts: { trace?: Trace } = {}): Promise<{ roomVersion: string; event: JsonObject }> {
    return this.typed({ destination, method: "GET", path: `/_matrix/federation/v1/make_join/${encodeURIComponent(roomId)}/${encodeURIComponent(userId)}`, query: { ver: supportedVersions }, ...opts },
      (b) => eventTemplate(b, true) as { roomVersion: string; event: JsonObject });
  }

  /** PUT /_matrix/federation/v2/send_join/{roomId}/{eventId}: state and auth chain parsed for the room version. */
  async sendJoin(
    destination: ServerName, roomId: RoomId, eventId: EventId, event: JsonObject, rules: RoomVersionRules,
    q: { readonly omitMembers?: boolean } = {}, opts: { trace?: Trace } = {},
  ): Promise<{ origin: string | undefined; state: Pdu[]; authChain: Pdu[]; event: JsonObject | undefined; membersOmitted: boolean; serversInRoom: ServerName[] | undefined }> {
    return this.typed({
      destination, method: "PUT", path: `/_matrix/federation/v2/send_join/${encodeURIComponent(roomId)}/${encodeURIComponent(eventId)}`, body: event,
      ...(q.omitMembers ? { query: { omit_members: "true" } } : {}), ...opts,
    }, (b) => {
      const o = objectAt(b, "(response)");
      const membersOmitted = o["members_omitted"] === undefined ? false : o["members_omitted"] === true ? true : o["members_omitted"] === false ? false : (() => { throw new ResponseShapeError("members_omitted", "must be a boolean"); })();
      const servers = o["servers_in_room"] === undefined ? undefined : arrayAt(o, "servers_in_room").map((s, i) => {
        if (typeof s !== "string") throw new ResponseShapeError(`servers_in_room[${i}]`, "must be a server name");
        return s as ServerName;
      });
      if (membersOmitted && servers === undefined) throw new ResponseShapeError("servers_in_room", "is required when members_omitted is true");
      const signed = o["event"] === undefined ? undefined : objectAt(o["event"], "event");
      return { origin: optionalStringAt(o, "origin"), state: pdusAt(o, "state", rules, roomId), authChain: pdusAt(o, "auth_chain", rules, roomId), event: signed, membersOmitted, serversInRoom: servers };
    });
  }

  /** GET /_matrix/federation/v1/make_leave/{roomId}/{userId}. */
  async makeLeave(destination: ServerName, roomId: RoomId, userId: UserId, opts: { trace?: Trace } = {}): Promise<{ roomVersion: string | undefined; event: JsonObject }> {
    return this.typed({ destination, method: "GET", path: `/_matrix/federation/v1/make_leave/${encodeURIComponent(roomId)}/${encodeURIComponent(userId)}`, ...opts }, (b) => eventTemplate(b, false));
  }

  /** PUT /_matrix/federation/v2/send_leave/{roomId}/{eventId}: the answer must be an object ({}). */
  async sendLeave(destination: ServerName, roomId: RoomId, eventId: EventId, event: JsonObject, opts: { trace?: Trace } = {}): Promise<void> {
    await this.typed({ destination, method: "PUT", path: `/_matrix/federation/v2/send_leave/${encodeURIComponent(roomId)}/${encodeURIComponent(eventId)}`, body: event, ...opts }, (b) => objectAt(b, "(response)"));
  }

  /** GET /_matrix/federation/v1/make_knock/{roomId}/{userId}?ver=.... */
  async makeKnock(destination: ServerName, roomId: RoomId, userId: UserId, supportedVersions: readonly string[], opts: { trace?: Trace } = {}): Promise<{ roomVersion: string; event: JsonObject }> {
    return this.typed({ destination, method: "GET", path: `/_matrix/federation/v1/make_knock/${encodeURIComponent(roomId)}/${encodeURIComponent(userId)}`, query: { ver: supportedVersions }, ...opts },
      (b) => eventTemplate(b, true) as { roomVersion: string; event: JsonObject });
  }

  /** PUT /_matrix/federation/v1/send_knock/{roomId}/{eventId}: the stripped state the knocking user may see. */
  async sendKnock(destination: ServerName, roomId: RoomId, eventId: EventId, event: JsonObject, opts: { trace?: Trace } = {}): Promise<{ knockRoomState: JsonObject[] }> {
    return this.typed({ destination, method: "PUT", path: `/_matrix/federation/v1/send_knock/${encodeURIComponent(roomId)}/${encodeURIComponent(eventId)}`, body: event, ...opts },
      (b) => ({ knockRoomState: objectsAt(objectAt(b, "(response)"), "knock_room_state", { optional: true }) }));
  }

  /**
   * GET /_matrix/federation/v1/user/devices/{userId}: https://spec.matrix.org/v1.16/server-server-api/#get_matrixfederationv1userdevicesuserid
   * The answer must name the user asked about and carry an integer stream_id and a devices array; each device
   * needs a string device_id (the caller judges the keys).
   */
  async getUserDevices(destination: ServerName, userId: UserId, opts: { trace?: Trace; timeoutMs?: number; maxResponseBytes?: number } = {}): Promise<{ streamId: number; devices: JsonObject[]; masterKey?: JsonObject; selfSigningKey?: JsonObject }> {
    return this.typed({ destination, method: "GET", path: `/_matrix/federation/v1/user/devices/${encodeURIComponent(userId)}`, ...opts }, (b) => {
      const o = objectAt(b, "(response)");
      if (stringAt(o, "user_id") !== userId) throw new ResponseShapeError("user_id", `is not ${userId}`);
      const streamId = integerAt(o, "stream_id");
      const devices = objectsAt(o, "devices");
      devices.forEach((d, i) => stringAt(d, "device_id", `devices[${i}].device_id`));
      const master = o["master_key"] === undefined ? undefined : objectAt(o["master_key"], "master_key");
      const selfSigning = o["self_signing_key"] === undefined ? undefined : objectAt(o["self_signing_key"], "self_signing_key");
      return { streamId, devices, ...(master ? { masterKey: master } : {}), ...(selfSigning ? { selfSigningKey: selfSigning } : {}) };
    });
  }

  /**
   * POST /_matrix/federation/v1/user/keys/query: https://spec.matrix.org/v1.16/server-server-api/#post_matrixfederationv1userkeysquery
   * The answer must have a device_keys object; master_keys and self_signing_keys are objects when present.
   */
  async queryUserKeys(destination: ServerName, deviceKeys: Readonly<Record<string, readonly string[]>>, opts: { trace?: Trace; timeoutMs?: number; maxResponseBytes?: number } = {}): Promise<{ deviceKeys: JsonObject; masterKeys: JsonObject; selfSigningKeys: JsonObject }> {
    const body: JsonObject = { device_keys: Object.fromEntries(Object.entries(deviceKeys).map(([u, d]) => [u, [...d]])) };
    return this.typed({ destination, method: "POST", path: "/_matrix/federation/v1/user/keys/query", body, ...opts }, (b) => {
      const o = objectAt(b, "(response)");
      const optional = (k: string): JsonObject => (o[k] === undefined ? {} : objectAt(o[k], k));
      return { deviceKeys: objectAt(o["device_keys"], "device_keys"), masterKeys: optional("master_keys"), selfSigningKeys: optional("self_signing_keys") };
    });
  }

  /**
   * POST /_matrix/federation/v1/user/keys/claim: https://spec.matrix.org/v1.16/server-server-api/#post_matrixfederationv1userkeysclaim
   * The answer must have a one_time_keys object.
   */
  async claimUserKeys(destination: ServerName, oneTimeKeys: Readonly<Record<string, Readonly<Record<string, string>>>>, opts: { trace?: Trace; timeoutMs?: number; maxResponseBytes?: number } = {}): Promise<{ oneTimeKeys: JsonObject }> {
    const body: JsonObject = { one_time_keys: Object.fromEntries(Object.entries(oneTimeKeys).map(([u, d]) => [u, { ...d }])) };
    return this.typed({ destination, method: "POST", path: "/_matrix/federation/v1/user/keys/claim", body, ...opts }, (b) => {
      const o = objectAt(b, "(response)");
      return { oneTimeKeys: objectAt(o["one_time_keys"], "one_time_keys") };
    });
  }

  /** PUT /_matrix/federation/v2/invite/{roomId}/{eventId}: the invite event signed by the invitee's server. */
  async invite(
    destination: ServerName, roomId: RoomId, eventId: EventId,
    q: { readonly event: JsonObject; readonly roomVersion: string; readonly inviteRoomState?: readonly JsonObject[] }, rules: RoomVersionRules,
    opts: { trace?: Trace } = {},
  ): Promise<{ event: Pdu }> {
    const body: JsonObject = { event: q.event, room_version: q.roomVersion, invite_room_state: [...(q.inviteRoomState ?? [])] };
    return this.typed({ destination, method: "PUT", path: `/_matrix/federation/v2/invite/${encodeURIComponent(roomId)}/${encodeURIComponent(eventId)}`, body, ...opts }, (b) => {
      const o = objectAt(b, "(response)");
      const [pdu] = pdusAt({ event: [objectAt(o["event"], "event")] }, "event", rules, roomId);
      if (pdu!.eventId !== eventId) throw new ResponseShapeError("event", `is ${pdu!.eventId}, not ${eventId}`);
      return { event: pdu! };
    });
  }

  /**
   * PUT /_matrix/federation/v1/invite/{roomId}/{eventId}, for room versions 1-2 with servers that lack v2: the body
   * is the event (invite_room_state under its `unsigned`), the answer `[200, {event}]` (a historical quirk the spec
   * keeps).
   */
  async inviteV1(destination: ServerName, roomId: RoomId, eventId: EventId, event: JsonObject, rules: RoomVersionRules, opts: { trace?: Trace } = {}): Promise<{ event: Pdu }> {
    return this.typed({ destination, method: "PUT", path: `/_matrix/federation/v1/invite/${encodeURIComponent(roomId)}/${encodeURIComponent(eventId)}`, body: event, ...opts }, (b) => {
      if (!Array.isArray(b) || b.length !== 2 || b[0] !== 200) throw new ResponseShapeError("(response)", "must be [200, {event}]");
      const pair: readonly unknown[] = b;
      const o = objectAt(pair[1], "[1]");
      const [pdu] = pdusAt({ event: [objectAt(o["event"], "event")] }, "event", rules, roomId);
      if (pdu!.eventId !== eventId) throw new ResponseShapeError("event", `is ${pdu!.eventId}, not ${eventId}`);
      return { event: pdu! };
    });
  }
}

/** A remote server's media: the bytes, or where to fetch them. */
export type FederationMedia =
  | { readonly kind: "bytes"; readonly contentType: string | undefined; readonly contentDisposition: string | undefined; readonly body: Buffer }
  | { readonly kind: "location"; readonly location: string };

function headerOf(h: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

function throwUnlessOk(dest: string, what: string, out: FederationRawResponse): void {
  if (out.status >= 200 && out.status < 300) return;
  let errcode: string | undefined;
  try {
    const j = JSON.parse(out.body.toString("utf8")) as { errcode?: unknown };
    if (typeof j.errcode === "string") errcode = j.errcode;
  } catch {
    // not JSON: the status says enough
  }
  throw new FederationError("http", dest, `${what} from ${dest} answered ${out.status}${errcode ? ` ${errcode}` : ""}`, out.status, errcode);
}

function queryString(q: Readonly<Record<string, string | readonly string[] | undefined>>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    for (const one of typeof v === "string" ? [v] : v) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(one)}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}
