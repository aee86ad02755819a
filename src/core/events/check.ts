/**
 * Checking received PDUs: steps 1-3 of
 * https://spec.matrix.org/v1.16/server-server-api/#checks-performed-on-receipt-of-a-pdu
 * with https://spec.matrix.org/v1.16/server-server-api/#validating-hashes-and-signatures-on-received-events
 *
 * 1. Format (parse.ts); a failure drops the event.
 * 2. Signatures over the redacted event, by every server that must sign
 *    (requiredSignatureServers); keys come from a lookup the caller filled
 *    beforehand; unknown keys are skipped, and from v5 keys whose
 *    valid_until_ts is before the event's origin_server_ts are too. A failure
 *    drops the event.
 * 3. Content hash: on a mismatch the event is not dropped but replaced by its
 *    redacted copy, which is what the caller must use from then on.
 * 4. Event id: v3+ ids are derived from the reference hash; when the caller
 *    expected a particular id (or room id, for a v12 create event), a
 *    different one is a failure.
 *
 * The redacted canonical bytes are computed once per event and serve both
 * the reference hash (the event id) and the signature check.
 */
import { sha256Utf8, utf8Scratch } from "../crypto/primitives.js";
import { verifyServerSignature, type KeyLookup, type VerifyKey } from "../crypto/sign.js";
import { MatrixError } from "../errors.js";
import { runNow, type Pausable } from "../generator.js";
import type { EventId, KeyId, ServerName } from "../ids/index.js";
import { decodeBase64 } from "../json/base64.js";
import { CanonicalJsonError } from "../json/errors.js";
import type { JsonObject } from "../json/types.js";
import type { RoomVersionRules } from "../room-versions/rules.js";
import { PduFormatError } from "./errors.js";
import { encodeBase64 } from "../json/base64.js";
import { eventIdFromReferenceHash, measureEvent, redactedSignedText } from "./hashes.js";
import { parsePdu } from "./parse.js";
import type { Pdu } from "./pdu.js";
import { redactEvent } from "./redact.js";

export type PduCheckName = "format" | "signatures" | "content_hash" | "event_id" | "room_id";

export interface PduCheckFailure {
  readonly check: PduCheckName;
  readonly reason: string;
  /** A fatal failure drops the event; a content hash mismatch is not fatal (the event is redacted). */
  readonly fatal: boolean;
}

export interface PduVerdict {
  /** True when the event may be used: format, signatures and id are good (it may have been redacted). */
  readonly ok: boolean;
  readonly eventId: EventId | undefined;
  /** The event to use from now on: parsed, and redacted when the content hash did not match. */
  readonly pdu: Pdu | undefined;
  /** The content hash did not match, so `pdu` is the redacted copy. */
  readonly redacted: boolean;
  readonly failures: readonly PduCheckFailure[];
}

export interface PduToCheck {
  readonly raw: unknown;
  readonly rules: RoomVersionRules;
  /** The id the caller asked for (e.g. GET /event/{id}, or a prev_event being fetched). */
  readonly expectedEventId?: string;
  /** The room the event must be in (a transaction PDU for a known room, or a v12 create event's room). */
  readonly expectedRoomId?: string;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function serverOf(userId: string): string {
  return userId.slice(userId.indexOf(":") + 1);
}

/**
 * The servers whose signatures an event needs (server-server API, "Validating
 * hashes and signatures on received events"):
 * 1. the sender's server, except for an invite made from a third-party invite
 *    (membership "invite" with `content.third_party_invite`), which another
 *    server may send on the inviter's behalf;
 * 2. v1-v2: the server in `event_id`, if it is another one;
 * 3. v8+: for a membership event with `content.join_authorised_via_users_server`,
 *    that user's server. Auth rule 4.2 of rooms/v8+ applies to any membership
 *    carrying the key and leaves the signature's validity to this check
 *    (Synapse checks joins only; see docs/interop.md).
 */
export function requiredSignatureServers(raw: JsonObject, rules: RoomVersionRules): string[] {
  const out = new Set<string>();
  const sender = raw["sender"];
  const content = isObject(raw["content"]) ? raw["content"] : {};
  const isMember = raw["type"] === "m.room.member";
  const thirdPartyInvite = isMember && content["membership"] === "invite" && content["third_party_invite"] !== undefined;
  // Step 1
  if (typeof sender === "string" && !thirdPartyInvite) out.add(serverOf(sender));
  // Step 2
  const eventId = raw["event_id"];
  if (rules.signatures.eventIdServerSigns && typeof eventId === "string" && eventId.includes(":")) out.add(serverOf(eventId));
  // Step 3
  const via = content["join_authorised_via_users_server"];
  if (rules.signatures.authorisingServerSigns && isMember && typeof via === "string" && via.includes(":")) {
    out.add(serverOf(via));
  }
  return [...out];
}

/** Caches a lookup's answers for one batch, so each (server, key id) is asked once. */
function memoise(lookup: KeyLookup): KeyLookup {
  const cache = new Map<string, VerifyKey | Uint8Array | undefined>();
  return (server: ServerName, keyId: KeyId) => {
    const k = `${server}\u0000${keyId}`;
    if (cache.has(k)) return cache.get(k);
    const v = lookup(server, keyId);
    cache.set(k, v);
    return v;
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

function formatFailure(e: unknown): PduCheckFailure {
  if (e instanceof PduFormatError || e instanceof CanonicalJsonError || e instanceof MatrixError) return { check: "format", reason: e.message, fatal: true };
  throw e;
}

function checkOne(item: PduToCheck, lookup: KeyLookup): PduVerdict {
  const { raw, rules } = item;
  const failures: PduCheckFailure[] = [];
  const dropped = (eventId?: EventId): PduVerdict => ({ ok: false, eventId, pdu: undefined, redacted: false, failures });
  if (!isObject(raw)) {
    failures.push({ check: "format", reason: "(event): must be a JSON object", fatal: true });
    return dropped();
  }
  // Step 1 (and the redacted bytes that steps 2 and 4 share)
  let signedText: string;
  let pdu: Pdu;
  let ourHash: Uint8Array;
  try {
    const measured = measureEvent(raw, rules);
    ourHash = measured.contentHash;
    signedText = redactedSignedText(raw, rules);
    const eventId = rules.eventId === "server-minted" ? undefined : eventIdFromReferenceHash(sha256Utf8(signedText), rules);
    pdu = parsePdu(raw, rules, eventId ? { eventId, canonicalSize: measured.canonicalBytes } : { canonicalSize: measured.canonicalBytes });
  } catch (e) {
    failures.push(formatFailure(e));
    return dropped();
  }
  // Step 2
  const validAt = rules.auth.enforceKeyValidity ? pdu.originServerTs : undefined;
  const servers = requiredSignatureServers(raw, rules);
  // Ask the (memoised) lookup for every key first, so no caller code runs while the scratch bytes below are live.
  const sigs = raw["signatures"];
  for (const server of servers) {
    const byServer = isObject(sigs) ? sigs[server] : undefined;
    if (isObject(byServer)) for (const keyId in byServer) if (keyId.startsWith("ed25519:")) lookup(server as ServerName, keyId as KeyId);
  }
  const bytes = utf8Scratch(signedText); // used synchronously below, before anything else can reuse the buffer
  for (const server of servers) {
    const v = verifyServerSignature(raw, bytes, server, lookup, validAt === undefined ? {} : { validAt });
    if (!v.ok) failures.push({ check: "signatures", reason: v.reason, fatal: true });
  }
  // Step 4
  if (item.expectedEventId !== undefined && item.expectedEventId !== pdu.eventId) {
    failures.push({ check: "event_id", reason: `the event's id is ${pdu.eventId}, not the expected ${item.expectedEventId}`, fatal: true });
  }
  if (item.expectedRoomId !== undefined && item.expectedRoomId !== pdu.roomId) {
    failures.push({ check: "room_id", reason: `the event is in room ${pdu.roomId}, not the expected ${item.expectedRoomId}`, fatal: true });
  }
  // Step 3
  let redacted = false;
  try {
    const claimedText = isObject(raw["hashes"]) ? raw["hashes"]["sha256"] : undefined;
    // The common case compares text; any other spelling (padding, URL-safe) is decoded and compared as bytes.
    const same = claimedText === encodeBase64(ourHash) || sameBytes(decodeBase64(typeof claimedText === "string" ? claimedText : ""), ourHash);
    if (!same) {
      failures.push({ check: "content_hash", reason: "hashes.sha256 does not match the content; the event is redacted before use", fatal: false });
      redacted = true;
    }
  } catch (e) {
    if (!(e instanceof MatrixError)) throw e;
    failures.push({ check: "content_hash", reason: `hashes.sha256 is not usable (${e.message}); the event is redacted before use`, fatal: false });
    redacted = true;
  }
  if (redacted) {
    try {
      pdu = parsePdu(redactEvent(raw, rules), rules, { eventId: pdu.eventId });
    } catch (e) {
      failures.push(formatFailure(e));
      return dropped(pdu.eventId);
    }
  }
  const ok = !failures.some((f) => f.fatal);
  return { ok, eventId: pdu.eventId, pdu: ok ? pdu : undefined, redacted, failures };
}

/**
 * Verifies many events with one call (a 50-PDU transaction, a send_join
 * response): format, signatures, content hash and id of each, in order, with
 * key lookups memoised across the batch. Never throws for bad input: each
 * event gets a verdict naming its failed checks.
 */
export function verifyEventsBatch(events: readonly PduToCheck[], keyLookup: KeyLookup): PduVerdict[] {
  return runNow(verifyEventsPausable(events, keyLookup));
}

/** Events verified between pause points: ~64 ed25519 verifications, a few milliseconds. */
export const VERIFY_PAUSE_EVERY = 64;

/**
 * verifyEventsBatch as a pausable generator (STYLE C6) for batches large
 * enough to hold the event loop (a send_join response with thousands of
 * events): it yields every VERIFY_PAUSE_EVERY events; drive it with
 * runYielding in the server, runNow elsewhere.
 */
export function* verifyEventsPausable(events: readonly PduToCheck[], keyLookup: KeyLookup): Pausable<PduVerdict[]> {
  const lookup = memoise(keyLookup);
  const out: PduVerdict[] = new Array(events.length);
  for (let i = 0; i < events.length; i++) {
    if (i > 0 && i % VERIFY_PAUSE_EVERY === 0) yield;
    out[i] = checkOne(events[i]!, lookup);
  }
  return out;
}

/** The same for one event. */
export function checkPdu(raw: unknown, rules: RoomVersionRules, keyLookup: KeyLookup, expect: { eventId?: string; roomId?: string } = {}): PduVerdict {
  const item: PduToCheck = {
    raw,
    rules,
    ...(expect.eventId !== undefined ? { expectedEventId: expect.eventId } : {}),
    ...(expect.roomId !== undefined ? { expectedRoomId: expect.roomId } : {}),
  };
  return checkOne(item, memoise(keyLookup));
}

/** Which keys a batch needs, per server, so the caller can fetch them before verifying. */
export function keysNeeded(events: readonly PduToCheck[]): Map<string, Set<string>> {
  const need = new Map<string, Set<string>>();
  for (const { raw, rules } of events) {
    if (!isObject(raw)) continue;
    const sigs = raw["signatures"];
    for (const server of requiredSignatureServers(raw, rules)) {
      const byServer = isObject(sigs) ? sigs[server] : undefined;
      if (!isObject(byServer)) continue;
      let set = need.get(server);
      if (!set) need.set(server, (set = new Set()));
      for (const keyId of Object.keys(byServer)) if (keyId.startsWith("ed25519:")) set.add(keyId);
    }
  }
  return need;
}

