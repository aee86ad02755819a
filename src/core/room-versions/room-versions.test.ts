/**
 * Each row of the room version table against the spec's rooms/v1..v12 pages
 * (https://spec.matrix.org/v1.16/rooms/), column by column (the authorization
 * flags included), written out here independently of rules.ts so a wrong row fails.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MatrixError } from "../errors.js";
import { DEFAULT_ROOM_VERSION, isKnownRoomVersion, ROOM_VERSIONS, roomVersion } from "./rules.js";

const ALL = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"];
type Row = [eventId: string, eventFormat: string, roomId: string, stateRes: string, redaction: string, strictJson: boolean, redactsInContent: boolean, eventIdServerSigns: boolean, authorisingServerSigns: boolean];
/** From the "Event IDs", "Event format", "State resolution", "Redactions", "Canonical JSON" and signing sections. */
const SPEC: Record<string, Row> = {
  "1": ["server-minted", "v1", "server-minted", "v1", "v1", false, false, true, false],
  "2": ["server-minted", "v1", "server-minted", "v2", "v1", false, false, true, false],
  "3": ["hash-base64", "v3", "server-minted", "v2", "v1", false, false, false, false],
  "4": ["hash-urlsafe", "v3", "server-minted", "v2", "v1", false, false, false, false],
  "5": ["hash-urlsafe", "v3", "server-minted", "v2", "v1", false, false, false, false],
  "6": ["hash-urlsafe", "v3", "server-minted", "v2", "v6", true, false, false, false],
  "7": ["hash-urlsafe", "v3", "server-minted", "v2", "v6", true, false, false, false],
  "8": ["hash-urlsafe", "v3", "server-minted", "v2", "v8", true, false, false, true],
  "9": ["hash-urlsafe", "v3", "server-minted", "v2", "v9", true, false, false, true],
  "10": ["hash-urlsafe", "v3", "server-minted", "v2", "v9", true, false, false, true],
  "11": ["hash-urlsafe", "v3", "server-minted", "v2", "v11", true, true, false, true],
  "12": ["hash-urlsafe", "v3", "create-event-hash", "v2.1", "v11", true, true, false, true],
};

/**
 * The authorization flags per version, written out in full (never derived from
 * the previous row), from each page's "Authorization rules" and "changes" notes:
 * aliases special case until v5 (v6 drops it), redaction checks in the auth
 * rules until v2 (v3 moves them out), key validity from v5, `notifications`
 * power levels from v6, knocking from v7, restricted joins from v8,
 * knock_restricted and integer-only power levels from v10, the creator as the
 * create event's sender from v11, privileged creators and the create event as
 * the room id in v12.
 */
const AUTH_FLAGS = [
  "specialCaseAliases", "redactionDomainCheckInAuth", "enforceKeyValidity", "notificationsPowerLevels", "knocking", "restrictedJoins",
  "knockRestrictedJoinRule", "integerPowerLevels", "creatorFromSender", "privilegedCreators", "createEventIsRoomId",
] as const;
const T = true;
const F = false;
const SPEC_AUTH: Record<string, readonly boolean[]> = {
  //     aliases redactDom keyValid notifPL knock restrict knockRes intPL creatorSender privCreators createIsRoom
  "1":  [T,      T,        F,       F,      F,    F,       F,       F,    F,            F,           F],
  "2":  [T,      T,        F,       F,      F,    F,       F,       F,    F,            F,           F],
  "3":  [T,      F,        F,       F,      F,    F,       F,       F,    F,            F,           F],
  "4":  [T,      F,        F,       F,      F,    F,       F,       F,    F,            F,           F],
  "5":  [T,      F,        T,       F,      F,    F,       F,       F,    F,            F,           F],
  "6":  [F,      F,        T,       T,      F,    F,       F,       F,    F,            F,           F],
  "7":  [F,      F,        T,       T,      T,    F,       F,       F,    F,            F,           F],
  "8":  [F,      F,        T,       T,      T,    T,       F,       F,    F,            F,           F],
  "9":  [F,      F,        T,       T,      T,    T,       F,       F,    F,            F,           F],
  "10": [F,      F,        T,       T,      T,    T,       T,       T,    F,            F,           F],
  "11": [F,      F,        T,       T,      T,    T,       T,       T,    T,            F,           F],
  "12": [F,      F,        T,       T,      T,    T,       T,       T,    T,            T,           T],
};

describe("room version table", () => {
  it("has exactly the stable versions 1 to 12, and 11 is the default for new rooms here", () => {
    assert.deepEqual([...ROOM_VERSIONS.keys()], ALL);
    for (const r of ROOM_VERSIONS.values()) assert.equal(r.stable, true);
    assert.ok(isKnownRoomVersion(DEFAULT_ROOM_VERSION));
  });

  for (const v of ALL) {
    it(`v${v}: event ids, format, room ids, state res, redaction, canonical JSON and signing rows match the spec`, () => {
      const r = roomVersion(v);
      assert.equal(r.id, v);
      assert.deepEqual(
        [r.eventId, r.eventFormat, r.roomId, r.stateRes, r.redaction, r.strictCanonicalJson, r.redactsInContent, r.signatures.eventIdServerSigns, r.signatures.authorisingServerSigns],
        SPEC[v],
      );
    });
  }

  it("has exactly the authorization flags written out below, no more", () => {
    for (const r of ROOM_VERSIONS.values()) assert.deepEqual(Object.keys(r.auth).sort(), [...AUTH_FLAGS].sort(), `v${r.id}`);
  });

  for (const v of ALL) {
    it(`v${v}: every authorization flag matches the spec`, () => {
      const auth = roomVersion(v).auth;
      const want = SPEC_AUTH[v]!;
      assert.equal(want.length, AUTH_FLAGS.length);
      AUTH_FLAGS.forEach((flag, i) => assert.equal(auth[flag], want[i], `v${v} auth.${flag}`));
    });
  }

  it("points each redaction name at its own kept-keys row, shared only within a group", () => {
    const byName = new Map<string, unknown>();
    for (const r of ROOM_VERSIONS.values()) {
      const seen = byName.get(r.redaction);
      if (seen) assert.equal(r.redactionRules, seen, `v${r.id}`);
      else byName.set(r.redaction, r.redactionRules);
    }
    assert.equal(new Set(byName.values()).size, 5);
  });

  it("refuses unknown versions with M_UNSUPPORTED_ROOM_VERSION naming the version", () => {
    for (const bad of ["0", "13", "1.0", "", "org.matrix.msc2176", " 1"]) {
      assert.throws(() => roomVersion(bad), (e: unknown) => e instanceof MatrixError && e.errcode === "M_UNSUPPORTED_ROOM_VERSION" && e.message.includes(JSON.stringify(bad)));
      assert.equal(isKnownRoomVersion(bad), false);
    }
  });
});
