import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Clock } from "../../../core/clock.js";
import { MatrixError } from "../../../core/errors.js";
import { createRateLimits, type RateLimitConfig } from "../../http/index.js";
import { inviteV1, inviteV2 } from "./invite.js";
import type { MembershipDeps } from "./make-join.js";

const open = { perSecond: 1000, burstCount: 1000 };
const limits = (perUserBurst: number): RateLimitConfig => ({
  rc_message: open, rc_registration: open, "rc_login.address": open, "rc_login.account": open, "rc_login.failed_attempts": open,
  "rc_joins.local": open, "rc_joins.remote": open, "rc_invites.per_room": open, "rc_invites.per_issuer": open,
  "rc_invites.per_user": { perSecond: 0.003, burstCount: perUserBurst },
});
const frozen: Clock = { now: () => 1_700_000_000_000, sleep: async () => undefined };

/** The routes' deps with a RoomService that only counts the invites that reach it. */
function deps(perUserBurst: number): { deps: MembershipDeps; received: string[] } {
  const received: string[] = [];
  const rooms = {
    receiveInvite: async (_origin: string, inv: { event: unknown }) => {
      received.push(String((inv.event as Record<string, unknown>)["state_key"]));
      return inv.event;
    },
  } as unknown as MembershipDeps["rooms"];
  return { deps: { rooms, rateLimits: createRateLimits(limits(perUserBurst), frozen) }, received };
}

const invite = (stateKey: string) => ({ type: "m.room.member", state_key: stateKey, sender: "@a:remote.test", content: { membership: "invite" } });
const v2 = async (d: MembershipDeps, stateKey: string): Promise<unknown> =>
  inviteV2.handle({ origin: "remote.test", params: { roomId: "!r:remote.test", eventId: "$e" }, body: { room_version: "10", event: invite(stateKey), invite_room_state: [] } } as never, d);
const v1 = async (d: MembershipDeps, stateKey: string): Promise<unknown> =>
  inviteV1.handle({ origin: "remote.test", params: { roomId: "!r:remote.test", eventId: "$e" }, body: invite(stateKey) } as never, d);

describe("inbound federation invites: rc_invites.per_user", () => {
  it("refuses an invitee's invites past the burst with 429 M_LIMIT_EXCEEDED before the room service sees them, over v2 and v1 alike", async () => {
    const { deps: d, received } = deps(2);
    await v2(d, "@bob:here.test");
    await v1(d, "@bob:here.test");
    for (const send of [v2, v1]) {
      await assert.rejects(send(d, "@bob:here.test"), (e: unknown) => e instanceof MatrixError && e.errcode === "M_LIMIT_EXCEEDED" && e.status === 429);
    }
    assert.deepEqual(received, ["@bob:here.test", "@bob:here.test"]);
  });

  it("counts each invitee on its own: another user of this server is still invited", async () => {
    const { deps: d, received } = deps(1);
    await v2(d, "@bob:here.test");
    await assert.rejects(v2(d, "@bob:here.test"), (e: unknown) => e instanceof MatrixError && e.errcode === "M_LIMIT_EXCEEDED");
    await v2(d, "@carol:here.test");
    assert.deepEqual(received, ["@bob:here.test", "@carol:here.test"]);
  });
});
