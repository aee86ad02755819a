/** Conformance for UiaSessionStore and ReportStore (migration 0014), RegistrationNonceStore (migration 0019) and AccountDataStore.update (room tags): sessions shared by processes and kept over restarts, expiry, the bound; reports and their listing. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { EventId, RoomId, UserId } from "../../core/ids/index.js";
import type { JsonObject } from "../../core/json/types.js";
import { UniqueViolationError, type Storage } from "../ports.js";
import type { ConformanceDatabase } from "./suite.js";

const ALICE = "@alice:conformance.test" as UserId;
const BOB = "@bob:conformance.test" as UserId;
const ROOM_A = "!a:conformance.test" as RoomId;
const ROOM_B = "!b:conformance.test" as RoomId;
const LIMITS = { expireBeforeTs: 0, maxSessions: 100 };

export function uiaReportConformance(
  withStorage: (fn: (s: Storage) => Promise<void>) => Promise<void>,
  fresh: () => Promise<ConformanceDatabase>,
  reopenSkip: { skip?: string },
): void {
  describe("RegistrationNonceStore", () => {
    it("a nonce is consumed once, not after it expires, and issuing drops expired ones and the oldest past the bound", async () => {
      await withStorage(async (s) => {
        await s.registrationNonces.issue("n1", 1000, { expireBeforeTs: 0, max: 10 });
        assert.equal(await s.registrationNonces.consume("n1", 1001), false, "issued before the cut-off: expired");
        assert.equal(await s.registrationNonces.consume("n1", 0), true);
        assert.equal(await s.registrationNonces.consume("n1", 0), false, "single use");
        for (let i = 1; i <= 3; i++) await s.registrationNonces.issue(`b${i}`, 2000 + i, { expireBeforeTs: 0, max: 2 });
        assert.equal(await s.registrationNonces.consume("b1", 0), false, "the oldest went to keep two");
        await s.registrationNonces.issue("c", 5000, { expireBeforeTs: 2003, max: 10 });
        assert.equal(await s.registrationNonces.consume("b2", 0), false, "issued before expireBeforeTs: dropped");
        assert.equal(await s.registrationNonces.consume("b3", 0), true);
        assert.equal(await s.registrationNonces.consume("c", 0), true);
      });
    });

    it("a nonce issued through one connection is consumed through a second one to the same database", reopenSkip, async () => {
      const db = await fresh();
      const first = await db.open();
      const second = await db.open();
      try {
        await first.registrationNonces.issue("shared", 1000, { expireBeforeTs: 0, max: 10 });
        assert.equal(await second.registrationNonces.consume("shared", 0), true);
        assert.equal(await first.registrationNonces.consume("shared", 0), false);
      } finally {
        await second.close();
        await first.close();
      }
    });
  });

  describe("UiaSessionStore", () => {
    it("stores a session with its operation and user, finds it until it expires, and deletes it once", async () => {
      await withStorage(async (s) => {
        await s.uiaSessions.create("s1", { operation: "password", userId: ALICE, createdTs: 1000 }, LIMITS);
        await s.uiaSessions.create("s2", { operation: "register", userId: null, createdTs: 2000 }, LIMITS);
        assert.deepEqual(await s.uiaSessions.get("s1", 0), { operation: "password", userId: ALICE, createdTs: 1000 });
        assert.deepEqual(await s.uiaSessions.get("s2", 2000), { operation: "register", userId: null, createdTs: 2000 });
        assert.equal(await s.uiaSessions.get("s1", 1001), null, "created before the cut-off: expired");
        assert.equal(await s.uiaSessions.get("nope", 0), null);
        assert.equal(await s.uiaSessions.delete("s1"), true);
        assert.equal(await s.uiaSessions.delete("s1"), false, "a second delete finds nothing");
        assert.equal(await s.uiaSessions.get("s1", 0), null);
      });
    });

    it("refuses a second session with the same id and keeps the first", async () => {
      await withStorage(async (s) => {
        await s.uiaSessions.create("dup", { operation: "password", userId: ALICE, createdTs: 1 }, LIMITS);
        await assert.rejects(s.uiaSessions.create("dup", { operation: "register", userId: null, createdTs: 2 }, LIMITS), UniqueViolationError);
        assert.equal((await s.uiaSessions.get("dup", 0))?.operation, "password");
      });
    });

    it("drops expired sessions when one is created and on deleteExpired, and keeps at most maxSessions (the oldest go)", async () => {
      await withStorage(async (s) => {
        for (let i = 1; i <= 4; i++) await s.uiaSessions.create(`old${i}`, { operation: "register", userId: null, createdTs: i }, LIMITS);
        await s.uiaSessions.create("new", { operation: "register", userId: null, createdTs: 10 }, { expireBeforeTs: 3, maxSessions: 100 });
        assert.equal(await s.uiaSessions.get("old2", 0), null, "created before expireBeforeTs: dropped");
        assert.notEqual(await s.uiaSessions.get("old3", 0), null);
        await s.uiaSessions.create("newer", { operation: "register", userId: null, createdTs: 11 }, { expireBeforeTs: 0, maxSessions: 3 });
        assert.equal(await s.uiaSessions.get("old3", 0), null, "the oldest went to keep three");
        for (const id of ["old4", "new", "newer"]) assert.notEqual(await s.uiaSessions.get(id, 0), null, id);
        assert.equal(await s.uiaSessions.deleteExpired(11), 2);
        assert.notEqual(await s.uiaSessions.get("newer", 0), null);
        assert.equal(await s.uiaSessions.get("new", 0), null);
      });
    });

    it("finds a session after a restart and from a second connection to the same database", reopenSkip, async () => {
      const db = await fresh();
      const first = await db.open();
      const second = await db.open();
      try {
        await first.uiaSessions.create("shared", { operation: "deactivate", userId: BOB, createdTs: 5 }, LIMITS);
        assert.deepEqual(await second.uiaSessions.get("shared", 0), { operation: "deactivate", userId: BOB, createdTs: 5 });
        await first.close();
        const again = await db.open();
        try {
          assert.equal((await again.uiaSessions.get("shared", 0))?.userId, BOB);
          assert.equal(await again.uiaSessions.delete("shared"), true);
          assert.equal(await second.uiaSessions.get("shared", 0), null);
        } finally {
          await again.close();
        }
      } finally {
        await second.close();
      }
    });
  });

  describe("AccountDataStore.update", () => {
    it("applies a read-modify-write to one entry, and concurrent updates of it all land (none lost)", async () => {
      await withStorage(async (s) => {
        const tag = (name: string) => (cur: JsonObject | null): JsonObject => ({ tags: { ...((cur?.["tags"] as JsonObject | undefined) ?? {}), [name]: {} } });
        const first = await s.accountData.update(ALICE, ROOM_A, "m.tag", tag("u.first"));
        assert.deepEqual(await s.accountData.get(ALICE, ROOM_A, "m.tag"), { tags: { "u.first": {} } });
        await Promise.all(Array.from({ length: 10 }, (_, i) => s.accountData.update(ALICE, ROOM_A, "m.tag", tag(`u.t${i}`))));
        const tags = Object.keys(((await s.accountData.get(ALICE, ROOM_A, "m.tag"))?.["tags"] as JsonObject)).sort();
        assert.deepEqual(tags, ["u.first", ...Array.from({ length: 10 }, (_, i) => `u.t${i}`)].sort());
        const changes = await s.accountData.changesSince(ALICE, first);
        assert.equal(changes.length, 1, "one entry, its position moved on");
        assert.ok(changes[0]!.position > first);
        assert.equal(await s.accountData.get(BOB, ROOM_A, "m.tag"), null, "another user's entry is untouched");
      });
    });
  });

  describe("OpenIdTokenStore", () => {
    it("names the token's user until it expires, drops expired tokens when one is created, and refuses a duplicate", async () => {
      await withStorage(async (s) => {
        await s.openIdTokens.create("tok1", ALICE, 2000, 1000);
        assert.equal(await s.openIdTokens.getUser("tok1", 1999), ALICE);
        assert.equal(await s.openIdTokens.getUser("tok1", 2000), null, "expired at expires_ts");
        assert.equal(await s.openIdTokens.getUser("nope", 0), null);
        await assert.rejects(s.openIdTokens.create("tok1", BOB, 9000, 1000), UniqueViolationError);
        await s.openIdTokens.create("tok2", BOB, 9000, 2000);
        assert.equal(await s.openIdTokens.getUser("tok1", 0), null, "dropped: expired when tok2 was created");
        assert.equal(await s.openIdTokens.getUser("tok2", 8999), BOB);
      });
    });
  });

  describe("ReportStore", () => {
    const report = (i: number, roomId: RoomId, userId: UserId) => ({ roomId, eventId: `$e${i}` as EventId, userId, reason: i % 2 ? `reason ${i}` : null, score: i % 2 ? -i : null, receivedTs: 100 + i });

    it("numbers event reports 1, 2, ... and lists them newest first or oldest first, paged, with the total", async () => {
      await withStorage(async (s) => {
        const ids = [];
        for (let i = 1; i <= 5; i++) ids.push(await s.reports.addEventReport(report(i, i <= 3 ? ROOM_A : ROOM_B, i === 2 ? BOB : ALICE)));
        assert.deepEqual(ids, [1, 2, 3, 4, 5]);
        const back = await s.reports.listEventReports({ from: 0, limit: 10, dir: "b" });
        assert.deepEqual(back.reports.map((r) => r.id), [5, 4, 3, 2, 1]);
        assert.equal(back.total, 5);
        assert.deepEqual(back.reports[4], { id: 1, receivedTs: 101, roomId: ROOM_A, eventId: "$e1", userId: ALICE, reason: "reason 1", score: -1 });
        assert.deepEqual(back.reports[3]!.reason, null);
        const page = await s.reports.listEventReports({ from: 1, limit: 2, dir: "f" });
        assert.deepEqual(page.reports.map((r) => r.id), [2, 3]);
        assert.equal(page.total, 5);
        const inA = await s.reports.listEventReports({ from: 0, limit: 10, dir: "f", roomId: ROOM_A });
        assert.deepEqual([inA.reports.map((r) => r.id), inA.total], [[1, 2, 3], 3]);
        const byBob = await s.reports.listEventReports({ from: 0, limit: 10, dir: "f", roomId: ROOM_A, userId: BOB });
        assert.deepEqual([byBob.reports.map((r) => r.id), byBob.total], [[2], 1]);
      });
    });

    it("gets and deletes one event report by id", async () => {
      await withStorage(async (s) => {
        const id = await s.reports.addEventReport(report(1, ROOM_A, ALICE));
        assert.equal((await s.reports.getEventReport(id))?.eventId, "$e1");
        assert.equal(await s.reports.getEventReport(id + 1), null);
        assert.equal(await s.reports.deleteEventReport(id), true);
        assert.equal(await s.reports.deleteEventReport(id), false);
        assert.equal((await s.reports.listEventReports({ from: 0, limit: 10, dir: "b" })).total, 0);
        assert.equal(await s.reports.addEventReport(report(2, ROOM_A, ALICE)), id + 1, "ids are not reused");
      });
    });

    it("stores room reports apart from event reports, with their own numbering", async () => {
      await withStorage(async (s) => {
        await s.reports.addEventReport(report(1, ROOM_A, ALICE));
        assert.equal(await s.reports.addRoomReport({ roomId: ROOM_B, userId: BOB, reason: "spam", receivedTs: 7 }), 1);
        assert.equal(await s.reports.addRoomReport({ roomId: ROOM_A, userId: ALICE, reason: null, receivedTs: 8 }), 2);
        const all = await s.reports.listRoomReports({ from: 0, limit: 10, dir: "b" });
        assert.deepEqual(all.reports, [
          { id: 2, receivedTs: 8, roomId: ROOM_A, userId: ALICE, reason: null },
          { id: 1, receivedTs: 7, roomId: ROOM_B, userId: BOB, reason: "spam" },
        ]);
        assert.equal((await s.reports.listEventReports({ from: 0, limit: 10, dir: "b" })).total, 1);
      });
    });

    it("hands out distinct ids to reports written at once", async () => {
      await withStorage(async (s) => {
        const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => s.reports.addEventReport(report(i, ROOM_A, ALICE))));
        assert.deepEqual([...ids].sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i + 1));
      });
    });
  });
}
