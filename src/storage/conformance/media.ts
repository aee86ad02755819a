/** MediaStore conformance: pending ids and their limit, reference counts per hash, thumbnails, quarantine, deletion. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { UserId } from "../../core/ids/index.js";
import { UniqueViolationError, type NewMediaContent, type Storage } from "../ports.js";

const NOW = 1_700_000_000_000;
const ALICE = "@alice:zion.test" as UserId;
const BOB = "@bob:zion.test" as UserId;
const SHA = "a".repeat(64);

const content = (mediaId: string, extra: Partial<NewMediaContent> = {}): NewMediaContent => ({
  origin: "zion.test", mediaId, userId: ALICE, contentType: "image/png", uploadName: "x.png", sha256: SHA, size: 10, createdTs: NOW, authenticated: true, ...extra,
});

export function mediaConformance(withStorage: (fn: (s: Storage) => Promise<void>) => Promise<void>): void {
  describe("MediaStore", () => {
    it("counts references per hash: new bytes once, deleted with the last id (then orphaned with its thumbnails)", async () => {
      await withStorage(async (s) => {
        assert.equal(await s.media.recordMedia(content("one")), true);
        assert.equal(await s.media.recordMedia(content("two")), false);
        assert.equal(await s.media.contentRefs(SHA), 2);
        await s.media.recordThumbnail({ sha256: SHA, width: 32, height: 32, method: "crop", contentType: "image/png", size: 5 });
        await s.media.recordThumbnail({ sha256: SHA, width: 32, height: 32, method: "crop", contentType: "image/png", size: 5 });
        assert.equal((await s.media.getThumbnails(SHA)).length, 1);
        assert.deepEqual(await s.media.deleteMedia("zion.test", "one"), { orphaned: null });
        assert.equal(await s.media.contentRefs(SHA), 1);
        assert.deepEqual(await s.media.deleteMedia("zion.test", "two"), { orphaned: SHA });
        assert.equal(await s.media.contentRefs(SHA), 0);
        assert.equal((await s.media.getThumbnails(SHA)).length, 0);
        assert.equal(await s.media.deleteMedia("zion.test", "two"), null);
      });
    });

    it("refuses a second record of one media id with UniqueViolationError, writing nothing", async () => {
      await withStorage(async (s) => {
        await s.media.recordMedia(content("dup"));
        await assert.rejects(s.media.recordMedia(content("dup", { sha256: "b".repeat(64) })), UniqueViolationError);
        assert.equal(await s.media.contentRefs("b".repeat(64)), 0);
        assert.equal((await s.media.getMedia("zion.test", "dup"))?.sha256, SHA);
      });
    });

    it("reserves pending ids up to the per-user limit (expired ones not counted) and fills them once, for their owner", async () => {
      await withStorage(async (s) => {
        const reserve = (mediaId: string, userId: UserId, createdTs = NOW, expiresTs = NOW + 1000) =>
          s.media.reservePending({ origin: "zion.test", mediaId, userId, createdTs, expiresTs, authenticated: true }, 2);
        assert.equal(await reserve("old", ALICE, NOW - 5000, NOW - 1), true);
        assert.equal(await reserve("p1", ALICE), true);
        assert.equal(await reserve("p2", ALICE), true);
        assert.equal(await reserve("p3", ALICE), false);
        assert.equal(await reserve("b1", BOB), true);
        const pending = await s.media.getMedia("zion.test", "p1");
        assert.equal(pending?.sha256, null);
        assert.equal(pending?.expiresTs, NOW + 1000);
        assert.equal(await s.media.completePending(content("p1", { userId: BOB }), NOW), "not-owner");
        assert.equal(await s.media.completePending(content("p1"), NOW + 1000), "expired");
        assert.equal(await s.media.completePending(content("nope"), NOW), "unknown");
        assert.equal(await s.media.completePending(content("p1"), NOW), "stored");
        assert.equal(await s.media.completePending(content("p1"), NOW), "already-uploaded");
        const done = await s.media.getMedia("zion.test", "p1");
        assert.equal(done?.sha256, SHA);
        assert.equal(done?.expiresTs, null);
        assert.equal(await s.media.contentRefs(SHA), 1);
        const page = (q: Partial<Parameters<Storage["media"]["listUserMedia"]>[0]>) => s.media.listUserMedia({ userId: ALICE, from: 0, limit: 10, orderBy: "media_id", dir: "f", ...q });
        assert.deepEqual((await page({})).media.map((m) => m.mediaId), ["old", "p1", "p2"]);
        assert.deepEqual((await page({ dir: "b" })).media.map((m) => m.mediaId), ["p2", "p1", "old"]);
        const second = await page({ from: 1, limit: 1 });
        assert.deepEqual(second.media.map((m) => m.mediaId), ["p1"]);
        assert.equal(second.total, 3, "the total counts every id, not the page");
        assert.equal((await page({ orderBy: "media_length", dir: "b" })).media.length, 3, "pending ids (no size yet) sort as 0");
        assert.equal((await s.media.listUserMedia({ userId: BOB, from: 0, limit: 10, orderBy: "created_ts", dir: "f" })).total, 1, "bob reserved b1");
      });
    });

    it("marks media quarantined and keeps the authenticated flag", async () => {
      await withStorage(async (s) => {
        await s.media.recordMedia(content("q", { authenticated: false }));
        assert.equal(await s.media.quarantine("zion.test", "q", "@admin:zion.test"), true);
        assert.equal(await s.media.quarantine("zion.test", "missing", null), false);
        const m = await s.media.getMedia("zion.test", "q");
        assert.equal(m?.quarantinedBy, "@admin:zion.test");
        assert.equal(await s.media.unquarantine("zion.test", "q"), true);
        assert.equal((await s.media.getMedia("zion.test", "q"))?.quarantinedBy, null, "the quarantine is lifted");
        assert.equal(await s.media.unquarantine("zion.test", "missing"), false);
        assert.equal(await s.media.quarantine("zion.test", "q", "@admin:zion.test"), true);
        assert.equal(m?.authenticated, false);
      });
    });
  });
}
