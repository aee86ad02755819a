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
        assert.deepEqual((await s.media.listUserMedia(ALICE, 10)).map((m) => m.mediaId).sort(), ["old", "p1", "p2"]);
      });
    });

    it("marks media quarantined and keeps the authenticated flag", async () => {
      await withStorage(async (s) => {
        await s.media.recordMedia(content("q", { authenticated: false }));
        assert.equal(await s.media.quarantine("zion.test", "q", "@admin:zion.test"), true);
        assert.equal(await s.media.quarantine("zion.test", "missing", null), false);
        const m = await s.media.getMedia("zion.test", "q");
        assert.equal(m?.quarantinedBy, "@admin:zion.test");
        assert.equal(m?.authenticated, false);
      });
    });
  });
}
