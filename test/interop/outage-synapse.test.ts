/**
 * Outages between Zion and the pinned Synapse (issue 15), over real TLS with certificates from the test CA, both named
 * by IP literal on 127.0.37.2x:
 * - Synapse down for two minutes (real time) while Zion's user sends a message every few seconds: Zion keeps the
 *   events queued, backs off (from 5 s doubling to 30 s here, so a handful of attempts, not one per message or per
 *   second; read from its attempts counter and `zion debug destinations`), and delivers them all once Synapse is
 *   started again on the same database and ports;
 * - Zion stopped while Synapse's user sends, long enough for Synapse to mark Zion as down and stop queueing for it:
 *   once Zion is back, Synapse resends the event of its failed transaction but not the ones sent meanwhile (its
 *   once-a-minute catch-up wake-up finds "outstanding catch-up" and sends nothing, observed with 1.163.2; see
 *   docs/interop.md); Synapse's next event in the room cites them, and Zion walks back to what it holds with
 *   /get_missing_events.
 * In both, every message arrives exactly once and in the order sent.
 * https://spec.matrix.org/v1.16/server-server-api/#transactions, #post_matrixfederationv1get_missing_eventsroomid
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { runDebug } from "../harness/cli.js";
import { parseScrape } from "../harness/prometheus.js";
import { pinnedSynapseVersion, type SynapseHandle } from "../harness/synapse.js";
import { synapseAndZionSuite } from "../harness/synapse-and-zion-suite.js";
import { allMessageBodies, createRoom, eventually, join, seeBodies, seeEvent, seeMembers, sendText, type Body, type Side, type SideUser } from "../harness/room-sides.js";

const SYNAPSE_HOST = "127.0.37.20";
const ZION_HOST = "127.0.37.21";
const COUNT = 30;
/** How long Synapse stays down in the first scenario, and how often Zion's user sends meanwhile. */
const OUTAGE_MS = 120_000;
const SEND_EVERY_MS = 5_000;

describe("outages between Zion and Synapse", { timeout: 900_000 }, () => {
  // The servers are stopped and started again, so every test reads them through the suite's getters.
  const t = synapseAndZionSuite({
    prefix: "zion-outage-synapse-", synapseHost: SYNAPSE_HOST, zionHost: ZION_HOST, allowRange: "127.0.37.0/24",
    // Zion's retry schedule shortened from 10 minutes (doubling up to 7 days) to 5 s doubling up to 30 s, so the
    // two-minute outage shows the back-off growing and capped and ends in a test's time; metrics on, to count attempts.
    zionConfig: { enable_metrics: true, federation: { destination_min_retry_interval: "5s", destination_retry_multiplier: 2, destination_max_retry_interval: "30s" } },
    zionClientResources: ["client", "media", "metrics"],
    // Synapse enters catch-up (drops its queue for a destination and later sends only each room's newest event)
    // once its retry interval for the destination passes an hour, so its first one is two hours here; the rest
    // are the harness's short defaults.
    synapseConfig: {
      federation: {
        client_timeout: "20s", max_short_retry_delay: "1s", max_long_retry_delay: "2s", max_long_retries: 3,
        destination_min_retry_interval: "2h", destination_max_retry_interval: "4h",
      },
    },
  });

  /** A room on `host` the other side's user joined, with one message from each side seen on both. */
  async function sharedRoom(host: Side, owner: SideUser, guest: Side, visitor: SideUser): Promise<string> {
    const roomId = await createRoom(host, owner, {});
    await join(guest, visitor, roomId, [host.serverName]);
    await seeMembers(host, owner, roomId, [owner.userId, visitor.userId]);
    await sendText(host, owner, roomId, "host before");
    await seeBodies(guest, visitor, roomId, ["host before"]);
    await sendText(guest, visitor, roomId, "guest before");
    await seeBodies(host, owner, roomId, ["host before", "guest before"]);
    await seeBodies(guest, visitor, roomId, ["host before", "guest before"]);
    return roomId;
  }

  /** Waits until `side` holds every one of `sent`, then asserts the room's whole history has each exactly once, in order. */
  async function seeAllOnceInOrder(side: Side, user: SideUser, roomId: string, sent: readonly string[], timeoutMs: number): Promise<string[]> {
    let last: string[] = [];
    await eventually(`${sent.length} messages at ${side.label}`, async () => {
      last = (await allMessageBodies(side, user, roomId)).bodies;
      return sent.every((b) => last.includes(b)) ? true : undefined;
    }, timeoutMs).catch((e: unknown) => {
      throw new Error(`${String(e)}; ${side.label} has ${last.filter((b) => sent.includes(b)).length} of ${sent.length}\n${side.logTail()}`);
    });
    assert.equal(last.length, new Set(last).size, `no message twice at ${side.label}: ${last.join(",")}`);
    assert.deepEqual(last.filter((b) => sent.includes(b)), sent, `in the order sent, at ${side.label}`);
    return last;
  }

  it("runs against the pinned Synapse version", () => {
    assert.equal(t.synapse.version.split(" ")[0], pinnedSynapseVersion());
  });

  /** Zion's failed and acknowledged transaction attempts to Synapse so far (its sender's counter). */
  async function attemptsToSynapse(): Promise<{ failed: number; ok: number }> {
    const r = await fetch(`${t.zionServer.clientUrl}/_synapse/metrics`);
    assert.equal(r.status, 200);
    const m = parseScrape(await r.text());
    const of = (result: string) => m.value("zion_federation_sender_attempts_total", { destination: t.synapse.serverName, result });
    return { failed: of("failed"), ok: of("ok") };
  }

  /** Zion's sender's row for Synapse in `zion debug destinations` (read from its database while it runs). */
  function destinationRowOfSynapse(): Body {
    const run = runDebug(["destinations", "-c", t.zionServer.configPath], "");
    assert.equal(run.code, 0, run.stderr);
    const row = (run.out as Body[]).find((d) => d["destination"] === t.synapse.serverName);
    assert.ok(row, `Synapse among Zion's destinations: ${run.stdout}`);
    return row;
  }

  it("Synapse down for two minutes while a Zion user sends: Zion queues, backs off, and once Synapse is back delivers every message exactly once, in order", async () => {
    const roomId = await sharedRoom(t.zion, t.alice, t.syn, t.bob);
    const before = await attemptsToSynapse();
    await t.stopSynapse();
    const down = Date.now();
    const sent: string[] = [];
    // A message every few seconds for the whole outage, the last one a few seconds before Synapse is back.
    for (let i = 0; Date.now() - down < OUTAGE_MS - SEND_EVERY_MS; i++) {
      const body = `zion during the outage ${i}`;
      await sendText(t.zion, t.alice, roomId, body);
      sent.push(body);
      await new Promise((r) => setTimeout(r, SEND_EVERY_MS));
    }
    const row = destinationRowOfSynapse();
    const during = await attemptsToSynapse();
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - down))));
    await t.startSynapseAgain();
    const bodies = await seeAllOnceInOrder(t.syn, t.bob, roomId, sent, 120_000);
    assert.deepEqual(bodies.slice(0, 2), ["host before", "guest before"], "the outage's messages come after what Synapse had");
    // Backed off: the destination marked failing, its events queued, the wait grown from 5 s to its 30 s cap, and a
    // handful of failed attempts (5, 10, 20, 30, 30... s apart: about seven in two minutes), not one per message.
    assert.ok(row["failing_since"] !== null, `Zion marks Synapse as failing: ${JSON.stringify(row)}`);
    assert.ok((row["queued_pdus"] as number) > 0, `Zion keeps the outage's events queued: ${JSON.stringify(row)}`);
    assert.equal(row["retry_interval_ms"], 30_000, `the back-off grew to its cap: ${JSON.stringify(row)}`);
    const failed = during.failed - before.failed;
    console.log(`# ${sent.length} messages over ${OUTAGE_MS / 1000} s of outage; ${failed} failed attempts; destination then: ${JSON.stringify(row)}`);
    assert.ok(failed >= 3 && failed <= 12, `${failed} failed attempts while ${sent.length} messages were sent over two minutes`);
    const after = await attemptsToSynapse();
    assert.ok(after.ok > during.ok, "then attempts succeed again");
    assert.equal(destinationRowOfSynapse()["failing_since"], null, "Synapse is no longer marked failing");
    // Zion is a full peer again the other way too.
    await sendText(t.syn, t.bob, roomId, "synapse after the outage");
    await seeBodies(t.zion, t.alice, roomId, [...sent, "synapse after the outage"]);
  });

  it("Zion stopped long enough for Synapse to drop its queue: once Zion is back, Synapse's next event brings the gap, which Zion fills with /get_missing_events, every message once, in order", async () => {
    const roomId = await sharedRoom(t.syn, t.bob, t.zion, t.alice);
    await t.stopZion();
    const sent: string[] = [];
    const send = async (body: string) => {
      await sendText(t.syn, t.bob, roomId, body);
      sent.push(body);
    };
    // The first message's transaction is retried for a while; once it has failed for good Synapse marks Zion as down
    // (failure_ts in its admin API) for two hours, and the later messages are not queued for Zion (catch-up mode).
    await send("synapse during the outage 0");
    const admin = await t.synapse.registerUser({ username: "outage-admin", admin: true });
    await eventually("Synapse marks Zion as down", async () => {
      const r = await t.synapse.client("GET", `/_synapse/admin/v1/federation/destinations/${encodeURIComponent(t.zionName)}`, { token: admin.accessToken });
      return r.status === 200 && typeof (r.json as Body)["failure_ts"] === "number" ? true : undefined;
    }, 180_000);
    for (let i = 1; i < COUNT; i++) await send(`synapse during the outage ${i}`);
    const gmeBefore = getMissingEventsFromZion(t.synapse, t.zionName, roomId);
    await t.startZionAgain();
    // Zion's user speaks first: a signed request from a destination Synapse backs off from makes it reset the
    // back-off and wake its queue for Zion. Then Synapse's user speaks: that event cites the outage's last message.
    await seeEvent(t.syn, t.bob, roomId, await sendText(t.zion, t.alice, roomId, "zion is back"));
    await send("synapse after the outage");
    const bodies = await seeAllOnceInOrder(t.zion, t.alice, roomId, sent, 120_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\nSynapse about Zion:\n${t.synapse.log().split("\n").filter((l) => l.includes(t.zionName)).slice(-40).join("\n")}`);
    });
    assert.deepEqual(bodies.slice(0, 2), ["host before", "guest before"], "the outage's messages come after what Zion had");
    assert.ok(getMissingEventsFromZion(t.synapse, t.zionName, roomId) > gmeBefore, `Zion asked Synapse for the gap with /get_missing_events\n${t.synapse.logTail(40)}`);
    await sendText(t.zion, t.alice, roomId, "zion after the outage");
    await seeBodies(t.syn, t.bob, roomId, ["synapse after the outage", "zion after the outage"]);
  });
});

/** How many /get_missing_events requests for `roomId` Synapse's log shows it answered for `origin`. */
function getMissingEventsFromZion(s: SynapseHandle, origin: string, roomId: string): number {
  return s.log().split("\n").filter((l) => l.includes(`{${origin}}`) && l.includes("/_matrix/federation/v1/get_missing_events/") && l.includes(roomId.slice(1).split(":")[0]!)).length;
}
