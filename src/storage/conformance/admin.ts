/** Conformance for AdminStore (migration 0009): the admin API's user listing, the admin flag, reactivation, registration tokens. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { UserId } from "../../core/ids/index.js";
import { UniqueViolationError, type Storage, type UserListQuery } from "../ports.js";

const u = (local: string) => `@${local}:conformance.test` as UserId;
const Q: UserListQuery = { from: 0, limit: 100, deactivated: true, orderBy: "name", dir: "f" };

async function seed(s: Storage): Promise<void> {
  await s.users.createUser({ userId: u("carol"), passwordHash: "h", createdTs: 30, displayname: "Carol 100%" });
  await s.users.createUser({ userId: u("alice"), passwordHash: "h", createdTs: 20, admin: true, displayname: "Alice" });
  await s.users.createUser({ userId: u("bob"), passwordHash: "h", createdTs: 10, displayname: null });
  await s.users.createUser({ userId: u("dave_x"), passwordHash: "h", createdTs: 40, displayname: "Dave" });
  await s.users.deactivateUser(u("dave_x"));
}

export function adminConformance(withStorage: (fn: (s: Storage) => Promise<void>) => Promise<void>): void {
  describe("AdminStore", () => {
    it("lists users by name, creation time or display name in both directions, paged with the total", async () => {
      await withStorage(async (s) => {
        await seed(s);
        const ids = async (q: Partial<UserListQuery>) => (await s.admin.listUsers({ ...Q, ...q })).users.map((r) => r.userId.slice(1, r.userId.indexOf(":")));
        assert.deepEqual(await ids({}), ["alice", "bob", "carol", "dave_x"]);
        assert.deepEqual(await ids({ dir: "b" }), ["dave_x", "carol", "bob", "alice"]);
        assert.deepEqual(await ids({ orderBy: "creation_ts" }), ["bob", "alice", "carol", "dave_x"]);
        assert.deepEqual(await ids({ orderBy: "displayname" }), ["bob", "alice", "carol", "dave_x"], "no display name sorts as the empty string");
        assert.deepEqual(await ids({ orderBy: "admin", dir: "b" }), ["alice", "dave_x", "carol", "bob"], "ties broken by user id in the same direction");
        const page = await s.admin.listUsers({ ...Q, from: 1, limit: 2 });
        assert.deepEqual(page.users.map((r) => r.userId), [u("bob"), u("carol")]);
        assert.equal(page.total, 4);
        const alice = (await s.admin.listUsers({ ...Q, limit: 1 })).users[0]!;
        assert.deepEqual(alice, { userId: u("alice"), displayname: "Alice", avatarUrl: null, admin: true, deactivated: false, createdTs: 20 });
      });
    });

    it("filters by name (case-insensitive substring of id or display name, wildcards literal), admins and deactivated", async () => {
      await withStorage(async (s) => {
        await seed(s);
        const ids = async (q: Partial<UserListQuery>) => (await s.admin.listUsers({ ...Q, ...q })).users.map((r) => r.userId);
        assert.deepEqual(await ids({ name: "ALI" }), [u("alice")]);
        assert.deepEqual(await ids({ name: "dave" }), [u("dave_x")]);
        assert.deepEqual(await ids({ name: "100%" }), [u("carol")], "% matches itself");
        assert.deepEqual(await ids({ name: "e_x" }), [u("dave_x")], "_ matches itself");
        assert.deepEqual(await ids({ name: "a_i" }), [], "_ is no wildcard");
        assert.deepEqual(await ids({ deactivated: false }), [u("alice"), u("bob"), u("carol")]);
        assert.deepEqual(await ids({ admins: true }), [u("alice")]);
        assert.deepEqual(await ids({ admins: false, deactivated: false }), [u("bob"), u("carol")]);
        assert.equal((await s.admin.listUsers({ ...Q, name: "l", limit: 1 })).total, 2, "the total counts every match, not the page");
      });
    });

    it("sets the admin flag and reactivates with a new password; both are false for an unknown user", async () => {
      await withStorage(async (s) => {
        await seed(s);
        assert.equal(await s.admin.setAdmin(u("bob"), true), true);
        assert.equal((await s.users.getUser(u("bob")))!.admin, true);
        assert.equal(await s.admin.setAdmin(u("bob"), false), true);
        assert.equal((await s.users.getUser(u("bob")))!.admin, false);
        assert.equal(await s.admin.setAdmin(u("nobody"), true), false);
        assert.equal(await s.admin.reactivateUser(u("dave_x"), "new hash"), true);
        const dave = (await s.users.getUser(u("dave_x")))!;
        assert.equal(dave.deactivated, false);
        assert.equal(dave.passwordHash, "new hash");
        assert.equal(await s.admin.reactivateUser(u("nobody"), null), false);
        assert.equal(await s.users.getUser(u("nobody")), null);
      });
    });

    it("creates, reads, lists (valid or not), updates and deletes registration tokens; a taken token is a UniqueViolationError", async () => {
      await withStorage(async (s) => {
        const base = { pending: 0, completed: 0 };
        await s.admin.createRegistrationToken({ token: "open", usesAllowed: null, expiryTime: null, ...base });
        await s.admin.createRegistrationToken({ token: "usedup", usesAllowed: 2, expiryTime: null, pending: 1, completed: 1 });
        await s.admin.createRegistrationToken({ token: "expired", usesAllowed: 5, expiryTime: 1000, ...base });
        await assert.rejects(s.admin.createRegistrationToken({ token: "open", usesAllowed: 1, expiryTime: null, ...base }), (e: unknown) => e instanceof UniqueViolationError && e.what === "registration token");
        assert.deepEqual(await s.admin.getRegistrationToken("open"), { token: "open", usesAllowed: null, expiryTime: null, ...base });
        assert.equal(await s.admin.getRegistrationToken("missing"), null);
        const tokens = async (valid?: boolean) => (await s.admin.listRegistrationTokens({ valid, nowTs: 2000 })).map((t) => t.token);
        assert.deepEqual(await tokens(), ["expired", "open", "usedup"]);
        assert.deepEqual(await tokens(true), ["open"]);
        assert.deepEqual(await tokens(false), ["expired", "usedup"]);
        assert.deepEqual(await s.admin.updateRegistrationToken("expired", { expiryTime: null }), { token: "expired", usesAllowed: 5, expiryTime: null, ...base });
        assert.deepEqual(await s.admin.updateRegistrationToken("expired", { usesAllowed: null }), { token: "expired", usesAllowed: null, expiryTime: null, ...base });
        assert.equal(await s.admin.updateRegistrationToken("missing", { usesAllowed: 1 }), null);
        assert.equal(await s.admin.deleteRegistrationToken("usedup"), true);
        assert.equal(await s.admin.deleteRegistrationToken("usedup"), false);
        assert.deepEqual(await tokens(), ["expired", "open"]);
      });
    });

    it("reserves a use only while the token is usable (pending + completed < uses_allowed, not expired), then completes or releases it", async () => {
      await withStorage(async (s) => {
        await s.admin.createRegistrationToken({ token: "two", usesAllowed: 2, expiryTime: 5000, pending: 0, completed: 0 });
        assert.equal(await s.admin.reserveRegistrationToken("two", 1000), true);
        assert.equal(await s.admin.reserveRegistrationToken("two", 1000), true);
        assert.equal(await s.admin.reserveRegistrationToken("two", 1000), false, "two pending uses fill uses_allowed 2");
        assert.deepEqual(await s.admin.getRegistrationToken("two"), { token: "two", usesAllowed: 2, expiryTime: 5000, pending: 2, completed: 0 });
        await s.admin.releaseRegistrationToken("two");
        await s.admin.completeRegistrationToken("two");
        assert.deepEqual(await s.admin.getRegistrationToken("two"), { token: "two", usesAllowed: 2, expiryTime: 5000, pending: 0, completed: 1 });
        assert.equal(await s.admin.reserveRegistrationToken("two", 5000), false, "expired at its expiry_time");
        assert.equal(await s.admin.reserveRegistrationToken("missing", 1000), false);
        await s.admin.completeRegistrationToken("two");
        assert.deepEqual(await s.admin.getRegistrationToken("two"), { token: "two", usesAllowed: 2, expiryTime: 5000, pending: 0, completed: 1 }, "no pending use to complete: unchanged");
        assert.equal(await s.admin.reserveRegistrationToken("two", 1000), true);
        assert.equal(await s.admin.reserveRegistrationToken("two", 1000), false, "one completed and one pending fill it");
      });
    });
  });
}
