/**
 * PDUs captured from a real Synapse (test/fixtures/synapse, recorded by
 * another helper; see its README) fed straight into checkPdu and
 * verifyEventsBatch: format, signatures with the captured server keys,
 * content hashes and event ids (and the v12 room id) must all agree with
 * what Synapse computed. Every *.json there with an `events` list is used;
 * the suite fails if there is none, so a missing capture never passes.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { decodeBase64 } from "../json/base64.js";
import type { JsonObject } from "../json/types.js";
import { roomVersion } from "../room-versions/rules.js";
import type { KeyLookup } from "../crypto/sign.js";
import { checkPdu, verifyEventsBatch } from "./check.js";
import { computeEventId } from "./hashes.js";

const dir = fileURLToPath(new URL("../../../../test/fixtures/synapse/", import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => ({ name: f, json: JSON.parse(readFileSync(dir + f, "utf8")) as Record<string, unknown> }));

interface EventsFile { room_version: string; events: { event_id: string; pdu: JsonObject }[] }
const eventFiles = files.filter((f) => Array.isArray(f.json["events"]) && typeof f.json["room_version"] === "string");

/** Server keys from every captured key response ({response: {server_name, verify_keys, valid_until_ts}}). */
const keys = new Map<string, { publicKey: Uint8Array; validUntilTs: number }>();
for (const f of files) {
  const r = f.json["response"] as { server_name?: string; verify_keys?: Record<string, { key: string }>; valid_until_ts?: number } | undefined;
  if (!r?.server_name || !r.verify_keys) continue;
  for (const [keyId, { key }] of Object.entries(r.verify_keys)) keys.set(`${r.server_name} ${keyId}`, { publicKey: decodeBase64(key), validUntilTs: r.valid_until_ts ?? Infinity });
}
const lookup: KeyLookup = (server, keyId) => keys.get(`${server} ${keyId}`);

describe("Synapse-captured PDUs", () => {
  it("finds captured events and server keys to check", () => {
    assert.ok(eventFiles.length > 0, "no test/fixtures/synapse/*.json with events");
    assert.ok(keys.size > 0, "no captured server keys");
  });

  for (const f of eventFiles) {
    const data = f.json as unknown as EventsFile;
    const rules = roomVersion(data.room_version);
    it(`${f.name}: every event passes checkPdu with the id Synapse gave it (room version ${data.room_version})`, () => {
      assert.ok(data.events.length > 0);
      for (const e of data.events) {
        assert.equal(computeEventId(e.pdu, rules), e.event_id);
        const v = checkPdu(e.pdu, rules, lookup, { eventId: e.event_id });
        assert.deepEqual(v.failures, [], `${e.event_id}: ${JSON.stringify(v.failures)}`);
        assert.equal(v.ok, true);
        assert.equal(v.redacted, false);
      }
    });

    it(`${f.name}: one batch call verifies them all and every event is in one room`, () => {
      const verdicts = verifyEventsBatch(data.events.map((e) => ({ raw: e.pdu, rules, expectedEventId: e.event_id })), lookup);
      assert.ok(verdicts.every((v) => v.ok));
      const rooms = new Set(verdicts.map((v) => v.pdu!.roomId));
      assert.equal(rooms.size, 1);
      if (rules.roomId === "create-event-hash") {
        const create = data.events.find((e) => e.pdu["type"] === "m.room.create")!;
        assert.deepEqual([...rooms], [`!${create.event_id.slice(1)}`]);
      }
    });

    it(`${f.name}: a changed body is caught by the content hash, a changed depth by the signature`, () => {
      const msg = data.events.find((e) => typeof (e.pdu["content"] as JsonObject)["body"] === "string") ?? data.events[data.events.length - 1]!;
      const changedBody = { ...msg.pdu, content: { ...(msg.pdu["content"] as JsonObject), body: "not what was sent" } };
      const v1 = checkPdu(changedBody, rules, lookup);
      assert.equal(v1.redacted, true);
      assert.deepEqual(v1.failures.map((x) => x.check), ["content_hash"]);
      const v2 = checkPdu({ ...msg.pdu, depth: (msg.pdu["depth"] as number) + 1 }, rules, lookup, { eventId: msg.event_id });
      assert.equal(v2.ok, false);
      assert.ok(v2.failures.some((x) => x.check === "signatures"));
      // Room versions 1-2 carry a server-minted event_id in the event; from 3 on it is the reference hash.
      if (rules.eventId !== "server-minted") assert.ok(v2.failures.some((x) => x.check === "event_id"));
    });
  }
});
