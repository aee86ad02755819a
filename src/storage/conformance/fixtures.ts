/**
 * Builders for the conformance suite: PDUs and key records shaped like the
 * real thing. Storage does not verify hashes or signatures, so ids and hashes
 * here are plausible strings, not computed ones.
 */
import type { EventId, KeyId, RoomId, ServerName, UserId } from "../../core/ids/index.js";
import type { JsonObject, JsonValue } from "../../core/json/types.js";
import type { Pdu } from "../../core/events/pdu.js";
import { V1, V10, type RoomVersionRules } from "../../core/room-versions/index.js";
import type { ServerKeyRecord } from "../ports.js";

export const ROOM = "!room:zion.test" as RoomId;
export const OTHER_ROOM = "!other:zion.test" as RoomId;
export const ALICE = "@alice:zion.test" as UserId;
export const BOB = "@bob:remote.test" as UserId;

export interface PduSpec {
  readonly id: string;
  readonly room?: RoomId;
  readonly type?: string;
  readonly stateKey?: string;
  readonly sender?: UserId;
  readonly prev?: readonly string[];
  readonly auth?: readonly string[];
  readonly depth?: number;
  readonly ts?: number;
  readonly content?: JsonObject;
  readonly redacts?: string;
  readonly rules?: RoomVersionRules;
}

/** A PDU in the room version's wire format (v1: `[id, hashes]` references and an event_id field). */
export function pdu(spec: PduSpec): Pdu {
  const rules = spec.rules ?? V10;
  const eventId = (spec.id.startsWith("$") ? spec.id : `$${spec.id}`) as EventId;
  const ref = (id: string): JsonValue => {
    const e = id.startsWith("$") ? id : `$${id}`;
    return rules.eventFormat === "v1" ? [e, { sha256: "aGFzaA" }] : e;
  };
  const room = spec.room ?? ROOM;
  const sender = spec.sender ?? ALICE;
  const type = spec.type ?? "m.room.message";
  const content = spec.content ?? { body: `hello from ${spec.id}`, msgtype: "m.text" };
  const raw: Record<string, JsonValue> = {
    room_id: room,
    type,
    sender,
    content,
    prev_events: (spec.prev ?? []).map(ref),
    auth_events: (spec.auth ?? []).map(ref),
    depth: spec.depth ?? 1,
    origin_server_ts: spec.ts ?? 1_700_000_000_000,
    hashes: { sha256: "Y29udGVudCBoYXNo" },
    signatures: { "zion.test": { "ed25519:a": "c2lnbmF0dXJl" } },
    unsigned: { age_ts: 1_700_000_000_000 },
  };
  if (spec.stateKey !== undefined) raw["state_key"] = spec.stateKey;
  if (spec.redacts !== undefined) raw["redacts"] = spec.redacts;
  if (rules.eventFormat === "v1") raw["event_id"] = eventId;
  const id = (x: string): EventId => (x.startsWith("$") ? x : `$${x}`) as EventId;
  return {
    eventId,
    roomId: room,
    sender,
    type,
    stateKey: spec.stateKey,
    content,
    prevEvents: (spec.prev ?? []).map(id),
    authEvents: (spec.auth ?? []).map(id),
    depth: spec.depth ?? 1,
    originServerTs: spec.ts ?? 1_700_000_000_000,
    redacts: spec.redacts === undefined ? undefined : id(spec.redacts),
    roomVersion: rules,
    raw,
  };
}

export const V1_RULES = V1;

export function eid(id: string): EventId {
  return (id.startsWith("$") ? id : `$${id}`) as EventId;
}

export function serverKey(server: string, version: string, overrides: Partial<ServerKeyRecord> = {}): ServerKeyRecord {
  const keyId = `ed25519:${version}` as KeyId;
  const publicKey = `cHVibGljIGtleSBvZiA${version}`;
  return {
    serverName: server as ServerName,
    keyId,
    publicKey,
    validUntilTs: 1_700_086_400_000,
    expiredTs: null,
    fetchedTs: 1_700_000_000_000,
    fetchedFrom: server as ServerName,
    keyJson: {
      server_name: server,
      valid_until_ts: 1_700_086_400_000,
      verify_keys: { [keyId]: { key: publicKey } },
      old_verify_keys: {},
      signatures: { [server]: { [keyId]: "c2lnbmF0dXJl" } },
    },
    ...overrides,
  };
}
